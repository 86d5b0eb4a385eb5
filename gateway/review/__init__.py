"""The auditors' and clients' view of the audit trail: FHIR search, the access report, the console.

api       the /audit endpoints, each through the audited frame (auditors only, by role policy)
pages     the report and console pages (jinja2, fi/sv/en)
names     the name directory: professionals, organisations and systems by name, cached for a stated TTL
paging    keyset pages on the event sequence and the links between them
helsinki  Helsinki time: instants shown, local days as stored bounds
"""

__all__: list[str] = []
