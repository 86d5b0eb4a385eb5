package fi.yhteys.hapi;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.stereotype.Component;

/**
 * Holds every FHIR request, {@code /metadata} included, at 503 until the Yhteys package is
 * installed. A server that answered before that would store resources no profile had checked.
 */
@Component
@Interceptor
public class ReadinessGate {

	private static final byte[] STARTING = ("{\"resourceType\":\"OperationOutcome\",\"issue\":[{"
					+ "\"severity\":\"error\",\"code\":\"transient\",\"diagnostics\":"
					+ "\"The Yhteys FHIR store is starting: profiles and terminology are being installed\"}]}")
			.getBytes(StandardCharsets.UTF_8);

	private final AtomicBoolean ready = new AtomicBoolean(false);

	/** Opens the gate; called once the profiles and terminology are installed. */
	public void open() {
		ready.set(true);
	}

	/**
	 * Answers 503 with an OperationOutcome and stops processing while the gate is closed.
	 *
	 * @return whether HAPI may go on with the request
	 */
	@Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_PROCESSED)
	public boolean holdUntilReady(HttpServletResponse response) throws IOException {
		if (ready.get()) {
			return true;
		}
		response.setStatus(503);
		response.setHeader("Retry-After", "5");
		response.setContentType("application/fhir+json;charset=utf-8");
		response.getOutputStream().write(STARTING);
		return false;
	}
}
