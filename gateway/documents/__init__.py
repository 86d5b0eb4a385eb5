"""Plan documents (FHIR document Bundles) for a named recipient.

compose    the document composed from what the recipient may see: Composition first, sections, fi/sv
structure  the document rules checked before signing, storing or taking one in (bdl-7..11, references closed)
verify     a document checked whole, as it is taken in: its structure and its signature against a trust store
render     the document as an HTML page for the professional or the client, with its signature status
pdf        that page as an A4 PDF (WeasyPrint), fetching nothing
"""

__all__: list[str] = []
