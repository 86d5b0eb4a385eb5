"""A plan document's page as PDF (A4), from the same HTML `render_html` makes.

`render_pdf(page)` lays out the HTML of `gateway.documents.render.render_html` with WeasyPrint and
answers the PDF bytes. Nothing is fetched while it does: the fetcher allows no URL scheme, so an
image, stylesheet or font a page might name is refused, and a document cannot make the renderer
reach a network or a file. WeasyPrint needs Pango from the system (Debian: libpango-1.0-0,
libpangoft2-1.0-0).
"""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.urls import URLFetcher

__all__ = ["render_pdf"]


def render_pdf(page: str, *, compress: bool = True) -> bytes:
    """The PDF of the HTML `page` (A4, fonts embedded, its headings as bookmarks; streams left
    uncompressed if not `compress`, for reading it back); see the module doc."""
    nothing = URLFetcher(allowed_protocols=frozenset())
    pdf = HTML(string=page, url_fetcher=nothing).write_pdf(uncompressed_pdf=not compress)
    if not isinstance(pdf, bytes):  # write_pdf with no target answers the bytes
        raise RuntimeError("WeasyPrint wrote no PDF")
    return pdf
