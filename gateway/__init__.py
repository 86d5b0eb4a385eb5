"""Yhteys: a FHIR R4 plan-sharing gateway for Finnish health and social services.

The rooms, each with one job (a room imports only the rooms below it; tests/test_imports.py
and the import-linter contracts in pyproject.toml hold them to it):

    cli/       the `yhteys` command line
    app/       the one assembly (build_gateway), the one audited frame, who calls (token or session)
    own/       the client's own pages: her plan, goals, team, consents and report
    proxy/     the FHIR path: dispatch, reads, writes, merge, bundles, redaction, URLs, search rules,
               the document operations and a recipient's view
    review/    the auditors' and clients' view of the trail: audit API, report, console
    demo/      the demo client, her team and plan, the demo minor and guardian, and the demo systems
    login/     browser login: the OpenID Connect relying party, sessions, claims, the Keycloak launcher
    audit/     the tamper-evident trail: BALP events, hash chain, checkpoints, verify and export
    store/     the FHIR store: the HAPI client, searches, the facts decisions rest on, the launcher
    documents/ plan documents: composed for a recipient, the document rules, the check of a received one,
               the HTML page and its PDF
    access/    the deciders (pure): the seam, role policy, consent, labels, subjects, care team
    signing/   signed documents' certificates, trust store, key ring and JAdES signatures
    fhir/      the shared FHIR vocabulary (pure): systems, codes, labels, ids, resource types,
               lenient reading of FHIR JSON

Shared by all rooms: `settings` (one Settings, read once), `errors` (every refusal as one
hierarchy), `outcomes` (the only builder of OperationOutcomes), `served` (what serving one
request came to), `templates` (the one jinja2 set-up of every page, and the pages' languages) and `terminology` (our
CodeSystems' displays in fi, sv and en).
"""

__all__: list[str] = []
