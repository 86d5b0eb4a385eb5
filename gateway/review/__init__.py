"""The auditors' and clients' view of the audit trail: FHIR search, the access report, the console.

api     the /audit endpoints, each through the audited frame (auditors only, by role policy)
pages   the report and console pages (jinja2, fi/sv/en)
"""

__all__: list[str] = []
