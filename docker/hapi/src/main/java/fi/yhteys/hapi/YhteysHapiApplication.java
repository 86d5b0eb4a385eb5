package fi.yhteys.hapi;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration;
import org.springframework.boot.autoconfigure.flyway.FlywayAutoConfiguration;
import org.springframework.boot.autoconfigure.orm.jpa.HibernateJpaAutoConfiguration;
import org.springframework.boot.autoconfigure.quartz.QuartzAutoConfiguration;
import org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/**
 * The Yhteys FHIR store: HAPI FHIR R4 JPA on Spring Boot.
 *
 * <p>Spring Boot supplies the data source (from {@code spring.datasource.*}) and the servlet
 * container. Before any bean is created, {@link YhteysPackage#register} reads the Yhteys profile
 * package ({@code yhteys.package-file}) and refuses the start if it is unusable; then
 * {@link FhirStoreConfig} wires HAPI's JPA layer, {@link FhirServletConfig} the REST server with
 * the package's profiles enforced, and {@link PackageInstaller} installs the package before the
 * server answers. HAPI brings its own entity manager factory and Quartz scheduler, so Boot's
 * versions are excluded; so are the Elasticsearch client, Flyway (HAPI's schema is created by
 * Hibernate; Boot's Flyway would refuse PostgreSQL) and Thymeleaf, which HAPI's jars pull onto the
 * classpath but this server does not use.
 */
@SpringBootApplication(
		exclude = {
			HibernateJpaAutoConfiguration.class,
			QuartzAutoConfiguration.class,
			ElasticsearchRestClientAutoConfiguration.class,
			FlywayAutoConfiguration.class,
			ThymeleafAutoConfiguration.class
		})
@EnableConfigurationProperties(YhteysProperties.class)
public class YhteysHapiApplication {

	public static void main(String[] args) {
		SpringApplication application = new SpringApplication(YhteysHapiApplication.class);
		application.addInitializers(YhteysPackage::register);
		application.run(args);
	}
}
