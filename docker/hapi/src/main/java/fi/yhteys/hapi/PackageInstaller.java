package fi.yhteys.hapi;

import ca.uhn.fhir.jpa.packages.IPackageInstallerSvc;
import ca.uhn.fhir.jpa.packages.PackageInstallOutcomeJson;
import ca.uhn.fhir.jpa.packages.PackageInstallationSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hl7.fhir.utilities.npm.NpmPackage;
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
 * <p>The package is stored and installed (its conformance resources become ordinary resources on
 * this server, so HAPI validates and expands with them); dependencies are never fetched, since the
 * R4 core definitions ship inside HAPI. Every start installs the package again, so edited profiles
 * take effect on the next start. If installation fails the process exits non-zero: the store never
 * serves without its profiles.
 */
@Component
public class PackageInstaller {

	private static final Logger LOG = LoggerFactory.getLogger(PackageInstaller.class);

	private final IPackageInstallerSvc installer;
	private final YhteysProperties properties;
	private final ReadinessGate gate;
	private final ApplicationContext context;

	public PackageInstaller(
			IPackageInstallerSvc installer,
			YhteysProperties properties,
			ReadinessGate gate,
			ApplicationContext context) {
		this.installer = installer;
		this.properties = properties;
		this.gate = gate;
		this.context = context;
	}

	@EventListener(ApplicationReadyEvent.class)
	public void installAndOpen() {
		try {
			if (properties.packageFile().isEmpty()) {
				LOG.warn("yhteys.package-file is not set: serving without the Yhteys profiles");
			} else {
				install(Path.of(properties.packageFile()));
			}
			gate.open();
			LOG.info("Yhteys FHIR store ready");
		} catch (Exception e) {
			LOG.error("Installing the Yhteys package failed; stopping", e);
			System.exit(SpringApplication.exit(context, () -> 3));
		}
	}

	private void install(Path packageFile) throws IOException {
		byte[] contents = Files.readAllBytes(packageFile);
		NpmPackage npm = NpmPackage.fromPackage(new ByteArrayInputStream(contents));
		PackageInstallationSpec spec = new PackageInstallationSpec()
				.setName(npm.name())
				.setVersion(npm.version())
				.setPackageContents(contents)
				.setInstallMode(PackageInstallationSpec.InstallModeEnum.STORE_AND_INSTALL)
				.setFetchDependencies(false);
		// Reload: HAPI otherwise keeps a stored profile whose url and version match, even when
		// the package brings changed content. Unchanged resources are not re-versioned.
		spec.setReloadExisting(true);
		PackageInstallOutcomeJson outcome = installer.install(spec);
		LOG.info("Installed {}#{}: {}", npm.name(), npm.version(), outcome.getResourcesInstalled());
	}
}
