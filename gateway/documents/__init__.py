"""Plan documents (FHIR document Bundles) for a named recipient.

compose    the document composed from what the recipient may see: Composition first, sections, fi/sv
structure  the document rules checked before signing, storing or taking one in (bdl-7..11, references closed)
render     the document as an HTML page for the professional or the client, with its signature status
"""

__all__: list[str] = []
