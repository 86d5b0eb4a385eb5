package fi.yhteys.hapi;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.util.List;

/**
 * Leaves the check of {@code Bundle.signature} to the gateway, which verifies every signed document
 * against its configured trust store (CA certificates, validity, revocation) before it writes one.
 *
 * <p>The HL7 validator checks a Bundle's JWS signature on its own since 6.6 and calls that work in
 * progress: it decodes the JWS signature part as plain base64 (a JWS uses base64url, so most valid
 * ES256 signatures are refused as "not valid base64"), has no trust store, and refuses the JAdES
 * headers Kanta lists as critical. Its findings about the signature (message ids
 * {@code BUNDLE_SIGNATURE_*}) are removed from each validation result; every other finding on the
 * Bundle and its entries, profiles included, still refuses the write.
 */
@Interceptor
public class SignatureCheckDeferral {

	private static final String SIGNATURE_MESSAGES = "BUNDLE_SIGNATURE_";

	/** The result without the validator's own signature findings. */
	@Hook(Pointcut.VALIDATION_COMPLETED)
	public ValidationResult withoutSignatureFindings(ValidationResult result) {
		List<SingleValidationMessage> kept = result.getMessages().stream()
				.filter(message -> message.getMessageId() == null
						|| !message.getMessageId().startsWith(SIGNATURE_MESSAGES))
				.toList();
		if (kept.size() == result.getMessages().size()) {
			return result;
		}
		return new ValidationResult(result.getContext(), kept);
	}
}
