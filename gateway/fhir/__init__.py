"""The shared FHIR vocabulary of Yhteys: every code, canonical URL and id pattern, defined once.

Pure data and pure functions: no I/O, no web framework, no store client. The gateway, the
authorization server (`auth/`) and the source-system mappings (`mappings/`) import it, and
nothing else of each other.

    systems    canonical URLs: our CodeSystems, extensions, identifier systems and rule bases;
               HL7's and HL7 Finland's systems we read and write
    codes      Sector, PurposeOfUse, Interaction and the team-role codes
    labels     Label and the four sensitivity labels; a coding read as a label
    ids        the FHIR id and reference patterns
    resources  the profiled resource types and their profiles, the types the gateway serves,
               directory types, and which element names a resource's client
    media      the media types of FHIR JSON and JSON Patch
"""

__all__: list[str] = []
