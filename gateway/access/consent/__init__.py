"""The client's consent: `terms` reads one Consent strictly, `decider` decides with them."""

__all__: list[str] = []
