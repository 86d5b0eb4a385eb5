package fi.yhteys.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.interceptor.validation.RepositoryValidatingInterceptor;
import ca.uhn.fhir.jpa.interceptor.validation.RepositoryValidatingRuleBuilder;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.provider.JpaSystemProvider;
import ca.uhn.fhir.jpa.provider.ValueSetOperationProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.ETagSupportEnum;
import ca.uhn.fhir.rest.server.HardcodedServerAddressStrategy;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.interceptor.RequestValidatingInterceptor;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.IInstanceValidatorModule;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The FHIR REST server at {@code /fhir}: every resource provider HAPI generated, the system
 * provider (batch, transaction, history), terminology operations, and validation on every write.
 *
 * <p>Two validators guard writes. Request validation checks every incoming body against the base
 * specification and the profiles it declares. Repository validation then requires each resource
 * of a type the Yhteys package profiles to declare and meet every profile the package defines for
 * that type ({@link YhteysPackage#resourceProfiles()}), whichever path it came in by (single
 * write, batch or transaction entry). Errors are refused with an OperationOutcome. The enforced
 * types and profiles are logged at start. A document's signature is the gateway's to verify
 * ({@link SignatureCheckDeferral}).
 */
@Configuration
public class FhirServletConfig {

	private static final Logger LOG = LoggerFactory.getLogger(FhirServletConfig.class);

	@Bean
	public RestfulServer fhirServer(
			FhirContext fhirContext,
			ResourceProviderFactory resourceProviders,
			JpaSystemProvider<?, ?> systemProvider,
			ValueSetOperationProvider valueSetOperations,
			IFhirSystemDao<?, ?> systemDao,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			IInstanceValidatorModule instanceValidator,
			ObjectProvider<RepositoryValidatingRuleBuilder> ruleBuilders,
			DatabaseBackedPagingProvider pagingProvider,
			YhteysProperties properties,
			YhteysPackage yhteysPackage,
			ReadinessGate readinessGate) {
		RestfulServer server = new RestfulServer(fhirContext);
		server.registerProviders(resourceProviders.createProviders());
		server.registerProviders(systemProvider, valueSetOperations);

		pagingProvider.setDefaultPageSize(properties.defaultPageSize());
		pagingProvider.setMaximumPageSize(properties.maxPageSize());
		server.setPagingProvider(pagingProvider);

		server.setServerConformanceProvider(new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport));
		server.setDefaultResponseEncoding(EncodingEnum.JSON);
		server.setETagSupport(ETagSupportEnum.ENABLED);
		if (!properties.serverAddress().isEmpty()) {
			server.setServerAddressStrategy(new HardcodedServerAddressStrategy(properties.serverAddress()));
		}

		server.registerInterceptor(readinessGate);
		server.registerInterceptor(new SignatureCheckDeferral());
		server.registerInterceptor(requestValidation(fhirContext, instanceValidator, server));
		server.registerInterceptor(
				repositoryValidation(fhirContext, ruleBuilders.getObject(), yhteysPackage.resourceProfiles()));
		return server;
	}

	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer fhirServer) {
		ServletRegistrationBean<RestfulServer> registration =
				new ServletRegistrationBean<>(fhirServer, "/fhir/*");
		registration.setName("fhir");
		registration.setLoadOnStartup(1);
		return registration;
	}

	private static RequestValidatingInterceptor requestValidation(
			FhirContext fhirContext, IInstanceValidatorModule module, RestfulServer server) {
		FhirValidator validator = fhirContext.newValidator();
		validator.registerValidatorModule(module);
		validator.setInterceptorBroadcaster(server.getInterceptorService()); // VALIDATION_COMPLETED hooks
		RequestValidatingInterceptor interceptor = new RequestValidatingInterceptor();
		interceptor.setValidator(validator);
		interceptor.setFailOnSeverity(ResultSeverityEnum.ERROR);
		interceptor.setAddResponseHeaderOnSeverity(null);
		interceptor.setAddValidationResultsToResponseOperationOutcome(false);
		return interceptor;
	}

	/** Requires every resource of each type in {@code profiles} to declare and meet its profiles. */
	private static RepositoryValidatingInterceptor repositoryValidation(
			FhirContext fhirContext,
			RepositoryValidatingRuleBuilder builder,
			Map<String, List<String>> profiles) {
		profiles.forEach((type, urls) -> {
			urls.forEach(url -> builder.forResourcesOfType(type).requireAtLeastProfile(url));
			builder.forResourcesOfType(type)
					.requireValidationToDeclaredProfiles()
					.rejectOnSeverity(ResultSeverityEnum.ERROR)
					.errorOnUnknownProfiles();
		});
		LOG.info("Enforcing Yhteys profiles on {} resource types: {}", profiles.size(), profiles);
		return new RepositoryValidatingInterceptor(fhirContext, builder.build());
	}
}
