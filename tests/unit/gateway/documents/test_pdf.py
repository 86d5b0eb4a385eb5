"""The PDF of a plan document's page: A4, the page's headings as its bookmarks, nothing fetched."""

from __future__ import annotations

import re

from gateway.documents.compose import compose
from gateway.documents.pdf import render_pdf
from gateway.documents.render import SignatureStatus, render_html
from tests.unit.gateway.documents.demo_documents import REQUEST, seen


def test_the_pdf_holds_the_page_with_its_headings_as_bookmarks() -> None:
    page = render_html(compose(REQUEST, seen(frozenset())), SignatureStatus(True, "Demo"), "client")
    pdf = render_pdf(page, compress=False)
    assert pdf.startswith(b"%PDF-")
    bookmarks = set(re.findall(rb"/Title \(([^)]*)\)", pdf))
    assert {b"Sinun suunnitelmasi", b"Asiakas", b"Tavoitteet"} <= bookmarks
    assert b"/MediaBox [0 0 595" in pdf  # A4: 595 x 842 points
    assert len(render_pdf(page)) < len(pdf)  # compressed by default


def test_a_page_naming_urls_renders_without_fetching_them() -> None:
    page = (
        '<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head>'
        '<body><h1>Otsikko</h1><img src="file:///etc/passwd"><img src="http://127.0.0.1:9/y.png"></body></html>'
    )
    pdf = render_pdf(page, compress=False)
    assert b"/Title (Otsikko)" in pdf
    assert b"root:" not in pdf and b"/Subtype /Image" not in pdf  # nothing was read into it
