package fi.yhteys.hapi;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the Yhteys FHIR store, bound from {@code yhteys.*} (application.yaml, environment
 * variables such as {@code YHTEYS_PACKAGE}, or command-line {@code --yhteys.package=...}).
 *
 * @param packageFile path of the NPM-style FHIR package (.tgz) with our profiles and terminology;
 *     the server refuses to start if it is set and missing
 * @param serverAddress the public base URL HAPI writes into absolute links (for example the
 *     gateway's {@code /fhir} when HAPI runs behind it); empty means "as the request came in"
 * @param luceneDir folder of HAPI's terminology index (Hibernate Search, Lucene)
 * @param defaultPageSize search page size when the client gives no {@code _count}
 * @param maxPageSize the largest {@code _count} honoured
 */
@ConfigurationProperties(prefix = "yhteys")
public record YhteysProperties(
		String packageFile,
		String serverAddress,
		String luceneDir,
		Integer defaultPageSize,
		Integer maxPageSize) {

	public YhteysProperties {
		packageFile = packageFile == null ? "" : packageFile;
		serverAddress = serverAddress == null ? "" : serverAddress;
		luceneDir = luceneDir == null ? "./var/hapi/lucene" : luceneDir;
		defaultPageSize = defaultPageSize == null ? 20 : defaultPageSize;
		maxPageSize = maxPageSize == null ? 200 : maxPageSize;
	}
}
