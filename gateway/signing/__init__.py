"""Signing plan documents as Kanta does: certificates and trust (`pki`), JAdES detached JWS
(`jades`), and a document Bundle's signature over its canonical form (`bundle`)."""
