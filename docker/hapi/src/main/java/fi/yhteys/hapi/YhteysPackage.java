package fi.yhteys.hapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.hl7.fhir.utilities.npm.NpmPackage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The Yhteys FHIR package (profiles, code systems, value sets) named by {@code yhteys.package-file},
 * read and checked before the application context is refreshed.
 *
 * <p>{@link #register} runs as an application context initializer: it reads the package and
 * registers it as the bean {@code yhteysPackage}, or throws {@link Unusable} when the setting is
 * unset or blank, names a file that does not exist or cannot be read, the file is not an NPM
 * package, or the package defines no resource profile. The start then fails within seconds of the
 * JVM starting, before any bean (HAPI's JPA layer included) is created and before the port is
 * opened: the store never serves without its profiles. {@link UnusablePackageFailureAnalyzer}
 * reports why, and the process exits with code 1.
 *
 * @param file the package file, as an absolute path
 * @param name the package name from its {@code package.json}
 * @param version the package version from its {@code package.json}
 * @param contents the package file's bytes, as installed by {@link PackageInstaller}
 * @param resourceProfiles resource type → the canonical URLs of the package's profiles of that type
 *     (its StructureDefinitions with kind {@code resource} and derivation {@code constraint});
 *     sorted by type, never empty. Extensions (kind {@code complex-type}) are not resource profiles.
 */
public record YhteysPackage(
		Path file, String name, String version, byte[] contents, Map<String, List<String>> resourceProfiles) {

	private static final Logger LOG = LoggerFactory.getLogger(YhteysPackage.class);

	/** How the refusals name the setting. */
	static final String SETTING = "yhteys.package-file (environment variable YHTEYS_PACKAGE_FILE)";

	/** The package named by {@code yhteys.package-file} cannot serve as the store's profiles. */
	public static final class Unusable extends IllegalStateException {
		Unusable(String reason, Throwable cause) {
			super("The Yhteys FHIR store refuses to serve without its profiles: " + reason, cause);
		}
	}

	/**
	 * Reads the package named by {@code yhteys.package-file} in {@code context}'s environment and
	 * registers it as the bean {@code yhteysPackage}.
	 *
	 * @throws Unusable if the package cannot serve as the store's profiles
	 */
	static void register(ConfigurableApplicationContext context) {
		YhteysProperties properties =
				Binder.get(context.getEnvironment()).bindOrCreate("yhteys", YhteysProperties.class);
		YhteysPackage yhteysPackage = read(properties.packageFile());
		LOG.info("Yhteys package {}#{} from {}",
				yhteysPackage.name(), yhteysPackage.version(), yhteysPackage.file());
		context.getBeanFactory().registerSingleton("yhteysPackage", yhteysPackage);
	}

	/**
	 * Reads and checks the package at {@code packageFile}.
	 *
	 * @throws Unusable if {@code packageFile} is blank, is not a readable file, is not an NPM
	 *     package, or defines no resource profile
	 */
	static YhteysPackage read(String packageFile) {
		if (packageFile.isBlank()) {
			throw new Unusable(SETTING + " is not set", null);
		}
		Path file = Path.of(packageFile).toAbsolutePath();
		byte[] contents;
		try {
			contents = Files.readAllBytes(file);
		} catch (IOException e) {
			throw new Unusable(SETTING + " names " + file + ", which does not exist or cannot be read", e);
		}
		NpmPackage npm;
		Map<String, List<String>> resourceProfiles;
		try {
			npm = NpmPackage.fromPackage(new ByteArrayInputStream(contents));
			resourceProfiles = resourceProfiles(npm);
		} catch (IOException | RuntimeException e) {
			throw new Unusable(SETTING + " names " + file + ", which cannot be read as an NPM package: " + e, e);
		}
		if (resourceProfiles.isEmpty()) {
			throw new Unusable(SETTING + " names " + file + ", which defines no resource profile "
					+ "(StructureDefinition with kind resource and derivation constraint)", null);
		}
		return new YhteysPackage(file, npm.name(), npm.version(), contents, resourceProfiles);
	}

	private static Map<String, List<String>> resourceProfiles(NpmPackage npm) throws IOException {
		ObjectMapper json = new ObjectMapper();
		Map<String, List<String>> profiles = new TreeMap<>();
		for (String resourceFile : npm.listResources("StructureDefinition")) {
			JsonNode definition;
			try (InputStream in = npm.loadResource(resourceFile)) {
				definition = json.readTree(in);
			}
			if ("resource".equals(definition.path("kind").asText())
					&& "constraint".equals(definition.path("derivation").asText())) {
				profiles.computeIfAbsent(definition.path("type").asText(), type -> new ArrayList<>())
						.add(definition.path("url").asText());
			}
		}
		return Collections.unmodifiableMap(profiles);
	}
}
