package fi.yhteys.hapi;

import ca.uhn.fhir.jpa.packages.IPackageInstallerSvc;
import ca.uhn.fhir.jpa.packages.PackageInstallOutcomeJson;
import ca.uhn.fhir.jpa.packages.PackageInstallationSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationContext;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Installs the Yhteys FHIR package (profiles, code systems, value sets) once the application is
 * ready, then opens the {@link ReadinessGate}.
 *
 * <p>The package was read and checked before the context started ({@link YhteysPackage}); a start
 * without a usable package never gets here. It is stored and installed (its conformance resources
 * become ordinary resources on this server, so HAPI validates and expands with them); dependencies
 * are never fetched, since the R4 core definitions ship inside HAPI. Every start installs the
 * package again, so edited profiles take effect on the next start. If installation fails the
 * process exits with code 3: the store never serves without its profiles.
 */
@Component
public class PackageInstaller {

	private static final Logger LOG = LoggerFactory.getLogger(PackageInstaller.class);

	private final IPackageInstallerSvc installer;
	private final YhteysPackage yhteysPackage;
	private final ReadinessGate gate;
	private final ApplicationContext context;

	public PackageInstaller(
			IPackageInstallerSvc installer,
			YhteysPackage yhteysPackage,
			ReadinessGate gate,
			ApplicationContext context) {
		this.installer = installer;
		this.yhteysPackage = yhteysPackage;
		this.gate = gate;
		this.context = context;
	}

	@EventListener(ApplicationReadyEvent.class)
	public void installAndOpen() {
		try {
			install();
			gate.open();
			LOG.info("Yhteys FHIR store ready");
		} catch (Exception e) {
			LOG.error("Installing the Yhteys package {} failed; stopping", yhteysPackage.file(), e);
			System.exit(SpringApplication.exit(context, () -> 3));
		}
	}

	private void install() {
		PackageInstallationSpec spec = new PackageInstallationSpec()
				.setName(yhteysPackage.name())
				.setVersion(yhteysPackage.version())
				.setPackageContents(yhteysPackage.contents())
				.setInstallMode(PackageInstallationSpec.InstallModeEnum.STORE_AND_INSTALL)
				.setFetchDependencies(false);
		// Reload: HAPI otherwise keeps a stored profile whose url and version match, even when
		// the package brings changed content. Unchanged resources are not re-versioned.
		spec.setReloadExisting(true);
		PackageInstallOutcomeJson outcome = installer.install(spec);
		LOG.info("Installed {}#{}: {}",
				yhteysPackage.name(), yhteysPackage.version(), outcome.getResourcesInstalled());
	}
}
