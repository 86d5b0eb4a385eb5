package fi.yhteys.hapi;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Reports a start refused for want of a usable Yhteys package ({@link YhteysPackage.Unusable}) as
 * Spring Boot's "APPLICATION FAILED TO START" with the reason and the setting to fix, instead of
 * a stack trace. Registered in {@code META-INF/spring.factories}.
 */
public class UnusablePackageFailureAnalyzer extends AbstractFailureAnalyzer<YhteysPackage.Unusable> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, YhteysPackage.Unusable cause) {
		return new FailureAnalysis(
				cause.getMessage(),
				"Set " + YhteysPackage.SETTING + ", or pass --yhteys.package-file=<path>, to the .tgz built "
						+ "by `yhteys package build` from profiles/ and terminology/.",
				cause);
	}
}
