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
import ca.uhn.fhir.validation.IInstanceValidatorModule;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import java.util.Map;
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
 * of a type Yhteys profiles to declare and meet that profile, whichever path it came in by
 * (single write, batch or transaction entry). Errors are refused with an OperationOutcome.
 */
@Configuration
public class FhirServletConfig {

	/** Resource type → the Yhteys profile every stored resource of that type must meet. */
	static final Map<String, String> REQUIRED_PROFILES = Map.of(
			"CarePlan", "https://yhteys.fi/fhir/StructureDefinition/SharedCarePlan",
			"CareTeam", "https://yhteys.fi/fhir/StructureDefinition/SupportTeam",
			"Goal", "https://yhteys.fi/fhir/StructureDefinition/ClientGoal",
			"Consent", "https://yhteys.fi/fhir/StructureDefinition/PlanConsent",
			"Patient", "https://yhteys.fi/fhir/StructureDefinition/FiClient",
			"Practitioner", "https://yhteys.fi/fhir/StructureDefinition/FiProfessional",
			"PractitionerRole", "https://yhteys.fi/fhir/StructureDefinition/FiProfessionalRole",
			"Organization", "https://yhteys.fi/fhir/StructureDefinition/SectorOrganization");

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
		server.registerInterceptor(requestValidation(instanceValidator));
		server.registerInterceptor(repositoryValidation(fhirContext, ruleBuilders.getObject()));
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

	private static RequestValidatingInterceptor requestValidation(IInstanceValidatorModule validator) {
		RequestValidatingInterceptor interceptor = new RequestValidatingInterceptor();
		interceptor.addValidatorModule(validator);
		interceptor.setFailOnSeverity(ResultSeverityEnum.ERROR);
		interceptor.setAddResponseHeaderOnSeverity(null);
		interceptor.setAddValidationResultsToResponseOperationOutcome(false);
		return interceptor;
	}

	private static RepositoryValidatingInterceptor repositoryValidation(
			FhirContext fhirContext, RepositoryValidatingRuleBuilder builder) {
		REQUIRED_PROFILES.forEach((type, profile) -> builder
				.forResourcesOfType(type)
				.requireAtLeastProfile(profile)
				.and()
				.requireValidationToDeclaredProfiles()
				.rejectOnSeverity(ResultSeverityEnum.ERROR)
				.errorOnUnknownProfiles());
		return new RepositoryValidatingInterceptor(fhirContext, builder.build());
	}
}
