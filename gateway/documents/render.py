"""A plan document as a page a person reads: HTML for the professional or for the client, with its signature status.

`render_html(bundle, status, audience, language)` renders a document Bundle (ours or another
organisation's): the Composition's title (for the client, in plain words: "your plan"), who issued
it, when and which version, the signature's status as a banner (`SignatureStatus`: valid and by
whom, or invalid and why), and each section's narrative as lines of text. The narrative is read as
text only (`html.parser`): no markup of a document, ours or foreign, reaches the page, and the
page is autoescaped (jinja2), so a document cannot carry script into it. Times are Helsinki time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["SignatureStatus", "render_html"]

Audience = Literal["professional", "client"]
_HELSINKI = ZoneInfo("Europe/Helsinki")
_BLOCKS = frozenset({"li", "p", "div", "td", "th", "tr", "h1", "h2", "h3", "h4", "br", "dd", "dt"})
_WORDS = {
    "fi": {"issuer": "Laatija", "date": "Päivätty", "version": "Versio", "valid": "Allekirjoitus on kelvollinen: allekirjoittaja {who}.",
           "invalid": "Allekirjoitus EI ole kelvollinen: {why}", "yours": "Sinun suunnitelmasi"},
    "sv": {"issuer": "Upprättad av", "date": "Daterad", "version": "Version", "valid": "Signaturen är giltig: undertecknad av {who}.",
           "invalid": "Signaturen är INTE giltig: {why}", "yours": "Din plan"},
    "en": {"issuer": "Issued by", "date": "Dated", "version": "Version", "valid": "The signature is valid: signed by {who}.",
           "invalid": "The signature is NOT valid: {why}", "yours": "Your plan"},
}  # fmt: skip
_environment = Environment(
    loader=PackageLoader("gateway.documents", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class SignatureStatus:
    """The outcome of verifying a document: valid and the signer's name, or not and why."""

    valid: bool
    detail: str


class _Text(HTMLParser):
    """The text of a narrative `div`, one line per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        self.lines[-1] += data


def _lines(narrative: object) -> list[str]:
    div = narrative.get("div") if isinstance(narrative, Mapping) else None
    if not isinstance(div, str):
        return []
    parser = _Text()
    parser.feed(div)
    parser.close()
    return [" ".join(line.split()) for line in parser.lines if line.strip()]


def render_html(
    bundle: Mapping[str, Any], status: SignatureStatus, audience: Audience = "professional", language: str = "fi"
) -> str:
    """The page of `bundle` for `audience` in `language` (fi, sv, en); see the module doc."""
    words = _WORDS.get(language, _WORDS["fi"])
    entries = bundle.get("entry") or [{}]
    composition = entries[0].get("resource", {}) if isinstance(entries[0], Mapping) else {}
    authors = {str(a.get("reference")) for a in composition.get("author", []) if isinstance(a, Mapping)}
    issuer = next(
        (
            str(e["resource"].get("name"))
            for e in entries[1:]
            if isinstance(e, Mapping)
            and f"{e.get('resource', {}).get('resourceType')}/{e.get('resource', {}).get('id')}" in authors
        ),
        ", ".join(sorted(authors)) or "?",
    )
    date = str(composition.get("date") or bundle.get("timestamp") or "")
    try:
        shown = datetime.fromisoformat(date).astimezone(_HELSINKI).strftime("%d.%m.%Y %H.%M")
    except ValueError:
        shown = date
    sections = [
        {"title": str(s.get("title", "")), "lines": _lines(s.get("text"))}
        for s in composition.get("section", [])
        if isinstance(s, Mapping)
    ]
    title = words["yours"] if audience == "client" else str(composition.get("title", ""))
    banner = words["valid" if status.valid else "invalid"].format(who=status.detail, why=status.detail)
    version = str(composition.get("id", "")).rsplit("-v", 1)[-1]
    return _environment.get_template("document.html").render(
        lang=language, title=title, signature=banner, valid=status.valid, words=words, issuer=issuer,
        date=date, date_shown=shown, version=version, sections=sections,
    )  # fmt: skip
