"""Yhteys: a FHIR R4 plan-sharing layer for Finnish health and social services.

The package holds the command line (`yhteys`), the settings, the builder of our FHIR package,
the launcher of our HAPI FHIR store and the demo data; the gateway proper grows here.
"""

__all__: list[str] = []
