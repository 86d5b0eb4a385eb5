package fi.yhteys.hapi;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the Yhteys FHIR store, bound from {@code yhteys.*}. Each is set by its environment
 * variable or by the property of the same meaning, on the command line or in application.yaml;
 * a command-line {@code --yhteys.…=} argument overrides the environment variable:
 *
 * <ul>
 *   <li>{@code YHTEYS_PACKAGE_FILE} or {@code yhteys.package-file}: required, no default;
 *   <li>{@code YHTEYS_SERVER_ADDRESS} or {@code yhteys.server-address}: default empty;
 *   <li>{@code YHTEYS_LUCENE_DIR} or {@code yhteys.lucene-dir}: default {@code ./var/hapi/lucene};
 *   <li>{@code YHTEYS_DEFAULT_PAGE_SIZE} or {@code yhteys.default-page-size}: default 20;
 *   <li>{@code YHTEYS_MAX_PAGE_SIZE} or {@code yhteys.max-page-size}: default 200;
 *   <li>{@code YHTEYS_SEARCH_EXPIRY_SECONDS} or {@code yhteys.search-expiry-seconds}: default 600;
 *   <li>{@code YHTEYS_SEARCH_SWEEP_SECONDS} or {@code yhteys.search-sweep-seconds}: default 60.
 * </ul>
 *
 * <p>The environment variables reach the properties through placeholders in application.yaml
 * (for example {@code package-file: ${YHTEYS_PACKAGE_FILE:}}).
 *
 * @param packageFile path of the NPM-style FHIR package (.tgz) with our profiles and terminology;
 *     the server refuses to start when it is unset, unreadable or defines no resource profile
 *     (see {@link YhteysPackage})
 * @param serverAddress the public base URL HAPI writes into absolute links (for example the
 *     gateway's {@code /fhir} when HAPI runs behind it); empty means "as the request came in"
 * @param luceneDir folder of HAPI's terminology index (Hibernate Search, Lucene)
 * @param defaultPageSize search page size when the client gives no {@code _count}
 * @param maxPageSize the largest {@code _count} honoured
 * @param searchExpirySeconds how long a stored search (kept for paging through its results)
 *     lives after it was last used; the sweep ({@link SearchSweep}) deletes older ones, after
 *     which its paging links answer 410 Gone
 * @param searchSweepSeconds how often the sweep runs
 */
@ConfigurationProperties(prefix = "yhteys")
public record YhteysProperties(
		String packageFile,
		String serverAddress,
		String luceneDir,
		Integer defaultPageSize,
		Integer maxPageSize,
		Long searchExpirySeconds,
		Long searchSweepSeconds) {

	public YhteysProperties {
		packageFile = packageFile == null ? "" : packageFile;
		serverAddress = serverAddress == null ? "" : serverAddress;
		luceneDir = luceneDir == null ? "./var/hapi/lucene" : luceneDir;
		defaultPageSize = defaultPageSize == null ? 20 : defaultPageSize;
		maxPageSize = maxPageSize == null ? 200 : maxPageSize;
		searchExpirySeconds = positive("search-expiry-seconds", searchExpirySeconds, 600L);
		searchSweepSeconds = positive("search-sweep-seconds", searchSweepSeconds, 60L);
	}

	private static long positive(String name, Long value, long orElse) {
		if (value == null) {
			return orElse;
		}
		if (value <= 0) {
			throw new IllegalArgumentException("yhteys." + name + " must be positive, got: " + value);
		}
		return value;
	}
}
