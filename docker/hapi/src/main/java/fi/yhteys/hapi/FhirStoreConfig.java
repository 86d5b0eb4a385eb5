package fi.yhteys.hapi;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.binary.api.IBinaryStorageSvc;
import ca.uhn.fhir.jpa.binstore.DatabaseBinaryContentStorageSvcImpl;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirPostgresDialect;
import ca.uhn.fhir.jpa.search.HapiHSearchAnalysisConfigurers;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import jakarta.persistence.EntityManagerFactory;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.jdbc.DataSourceProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * HAPI's JPA storage layer: the beans HAPI expects the application to define.
 *
 * <p>The database is whatever {@code spring.datasource.url} names: an H2 file database by default
 * (so data survives a restart), PostgreSQL when the URL starts with {@code jdbc:postgresql:}. The
 * Hibernate dialect follows the URL. HAPI expands stored code systems through Hibernate Search, so
 * a local Lucene index lives beside the data ({@code yhteys.lucene-dir}); resource full-text
 * indexing stays off, which keeps writes cheap. Batch2 jobs (reindexing, package installation follow-ups)
 * run on HAPI's in-process broker; no external message broker is needed.
 */
@Configuration
@Import({
	JpaR4Config.class,
	HapiJpaConfig.class,
	JpaBatch2Config.class,
	Batch2JobsConfig.class,
	ThreadPoolFactoryConfig.class,
	SubscriptionChannelConfig.class
})
public class FhirStoreConfig {

	/**
	 * Storage behaviour. Search results are never reused from the cache: a search must see the
	 * store as it is now, since the gateway's access decisions depend on it. A search stored for
	 * paging expires {@code yhteys.search-expiry-seconds} after its last use and {@link SearchSweep}
	 * deletes it (HAPI's own sweep task, once a minute with a minute's slack, is off), so stored
	 * searches do not fill the disk; a request with {@code Cache-Control: no-store} is
	 * answered in one page and stores nothing. References are literal only: a search URL in a
	 * reference ({@code Patient?identifier=...}, an "inline match URL") is refused, not resolved.
	 */
	@Bean
	public JpaStorageSettings jpaStorageSettings(YhteysProperties properties) {
		JpaStorageSettings settings = new JpaStorageSettings();
		settings.setReuseCachedSearchResultsForMillis(null);
		settings.setExpireSearchResults(true);
		settings.setExpireSearchResultsAfterMillis(properties.searchExpirySeconds() * 1000L);
		settings.setEnableTaskStaleSearchCleanup(false);
		settings.setAllowInlineMatchUrlReferences(false);
		settings.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ALPHANUMERIC);
		settings.setAllowExternalReferences(false);
		settings.setEnforceReferentialIntegrityOnWrite(true);
		settings.setEnforceReferentialIntegrityOnDelete(true);
		settings.setAllowMultipleDelete(false);
		settings.setIndexMissingFields(JpaStorageSettings.IndexEnabledEnum.DISABLED);
		settings.setDeferIndexingForCodesystemsOfSize(1000);
		settings.setHibernateSearchIndexFullText(false);
		settings.setHibernateSearchIndexSearchParams(false);
		settings.setAdvancedHSearchIndexing(false);
		return settings;
	}

	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	@Bean
	public SubscriptionSettings subscriptionSettings() {
		return new SubscriptionSettings();
	}

	@Bean
	public IBinaryStorageSvc binaryStorageSvc() {
		return new DatabaseBinaryContentStorageSvcImpl();
	}

	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings,
			DataSource dataSource,
			DataSourceProperties dataSourceProperties,
			YhteysProperties properties) {
		LocalContainerEntityManagerFactoryBean factory =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		factory.setPersistenceUnitName("YHTEYS_HAPI_PU");
		factory.setDataSource(dataSource);
		factory.setJpaPropertyMap(hibernateProperties(dataSourceProperties.getUrl(), properties.luceneDir()));
		return factory;
	}

	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
		return new JpaTransactionManager(entityManagerFactory);
	}

	/**
	 * Hibernate settings for the database behind {@code jdbcUrl} (unknown databases are refused),
	 * with the terminology index in {@code luceneDir}.
	 */
	static Map<String, Object> hibernateProperties(String jdbcUrl, String luceneDir) {
		return Map.ofEntries(
				Map.entry("hibernate.dialect", dialectFor(jdbcUrl)),
				Map.entry("hibernate.hbm2ddl.auto", "update"),
				Map.entry("hibernate.format_sql", "false"),
				Map.entry("hibernate.show_sql", "false"),
				Map.entry("hibernate.jdbc.batch_size", "20"),
				Map.entry(
						"hibernate.archive.scanner",
						"org.hibernate.boot.archive.scan.internal.DisabledScanner"),
				Map.entry("hibernate.search.enabled", "true"),
				Map.entry("hibernate.search.backend.type", "lucene"),
				Map.entry(
						"hibernate.search.backend.analysis.configurer",
						HapiHSearchAnalysisConfigurers.HapiLuceneAnalysisConfigurer.class.getName()),
				Map.entry("hibernate.search.backend.directory.type", "local-filesystem"),
				Map.entry("hibernate.search.backend.directory.root", luceneDir),
				Map.entry("hibernate.search.backend.lucene_version", "lucene_current"));
	}

	static String dialectFor(String jdbcUrl) {
		if (jdbcUrl != null && jdbcUrl.startsWith("jdbc:postgresql:")) {
			return HapiFhirPostgresDialect.class.getName();
		}
		if (jdbcUrl != null && jdbcUrl.startsWith("jdbc:h2:")) {
			return HapiFhirH2Dialect.class.getName();
		}
		throw new IllegalStateException(
				"spring.datasource.url must be a jdbc:h2: or jdbc:postgresql: URL, got: " + jdbcUrl);
	}
}
