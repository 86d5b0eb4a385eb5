"""Signing plan documents as Kanta does.

pki      a demo CA, system-signature certificates, the trust store with CRLs, the key ring by kid
jades    JAdES-style detached JWS (sigT, srCms, sigD) with joserfc: sign and verify
bundle   Bundle.signature over the R4 `#document` canonical form (RFC 8785): sign and verify
"""

__all__: list[str] = []
