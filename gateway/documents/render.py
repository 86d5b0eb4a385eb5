"""A plan document as a page a person reads: HTML for the professional or for the client, with its signature status.

`render_html(bundle, status, audience, language)` renders a document Bundle (ours or another
organisation's): the Composition's title (for the client, in plain words: "your plan"), who issued
it (the authors' names, their entries found by `fullUrl` or `Type/id`), when and which version
(ours: the Composition id's `-v<n>`; another's: R4's versionNumber extension), the signature's
status as a banner (`SignatureStatus`: valid and by whom, or invalid and why), and each section's
narrative as lines of text. The narrative is read as text only (`html.parser`): no markup of a
document, ours or foreign, reaches the page, and the page is autoescaped (jinja2), so a document
cannot carry script into it. Times are Helsinki time; a date without a time is shown as a date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Literal
from zoneinfo import ZoneInfo

from gateway.documents.structure import relative_reference
from gateway.templates import page_templates

__all__ = ["Audience", "SignatureStatus", "render_html"]

Audience = Literal["professional", "client"]
_HELSINKI = ZoneInfo("Europe/Helsinki")
_VERSION_NUMBER = "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber"
_BLOCKS = frozenset({"li", "p", "div", "td", "th", "tr", "h1", "h2", "h3", "h4", "br", "dd", "dt"})
_WORDS = {
    "fi": {"issuer": "Laatija", "date": "Päivätty", "version": "Versio", "valid": "Allekirjoitus on kelvollinen: allekirjoittaja {who}.",
           "invalid": "Allekirjoitus EI ole kelvollinen: {why}", "yours": "Sinun suunnitelmasi"},
    "sv": {"issuer": "Upprättad av", "date": "Daterad", "version": "Version", "valid": "Signaturen är giltig: undertecknad av {who}.",
           "invalid": "Signaturen är INTE giltig: {why}", "yours": "Din plan"},
    "en": {"issuer": "Issued by", "date": "Dated", "version": "Version", "valid": "The signature is valid: signed by {who}.",
           "invalid": "The signature is NOT valid: {why}", "yours": "Your plan"},
}  # fmt: skip
_environment = page_templates("gateway.documents")


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
    """The page of `bundle` for `audience` in `language` (fi, sv, en; another is fi); see the module doc."""
    language = language if language in _WORDS else "fi"
    words = _WORDS[language]
    entries = bundle.get("entry") or [{}]
    composition = entries[0].get("resource", {}) if isinstance(entries[0], Mapping) else {}
    date = str(composition.get("date") or bundle.get("timestamp") or "")
    sections = [
        {"title": str(s.get("title", "")), "lines": _lines(s.get("text"))}
        for s in composition.get("section", [])
        if isinstance(s, Mapping)
    ]
    title = words["yours"] if audience == "client" else str(composition.get("title", ""))
    banner = words["valid" if status.valid else "invalid"].format(who=status.detail, why=status.detail)
    return _environment.get_template("document.html").render(
        lang=language, title=title, signature=banner, valid=status.valid, words=words,
        issuer=_issuer(composition, entries[1:]), date=date, date_shown=_shown(date),
        version=_version(composition), sections=sections,
    )  # fmt: skip


def _issuer(composition: Mapping[str, Any], entries: Sequence[Any]) -> str:
    """The authors' names: each author's entry (found by its `fullUrl` or `Type/id`, so a document
    referring by `urn:uuid:` or absolute URL is read too), else the reference's display or itself."""
    found: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping):
            found[str(entry.get("fullUrl"))] = resource
            found[f"{resource.get('resourceType')}/{resource.get('id')}"] = resource
    names = []
    for author in composition.get("author", []):
        if not isinstance(author, Mapping):
            continue
        reference = str(author.get("reference", ""))
        resource = found.get(reference) or found.get(relative_reference(reference)) or {}
        names.append(_name(resource) or str(author.get("display") or reference))
    return ", ".join(dict.fromkeys(name for name in names if name)) or "?"


def _name(resource: Mapping[str, Any]) -> str:
    """An Organization's name, or a person's (the first HumanName: its text, else given and family)."""
    name = resource.get("name")
    if isinstance(name, str):
        return name
    first = name[0] if isinstance(name, list) and name and isinstance(name[0], Mapping) else {}
    return str(first.get("text") or " ".join([*first.get("given", []), first.get("family", "")]).strip())


def _shown(date: str) -> str:
    """`date` as Helsinki time, `dd.mm.yyyy hh.mm`; a date without a time (a FHIR dateTime may be
    one) as `dd.mm.yyyy`, not as a time of day the document never named; else as given."""
    try:
        moment = datetime.fromisoformat(date)
    except ValueError:
        return date
    if moment.tzinfo is None:
        return moment.strftime("%d.%m.%Y" if "T" not in date else "%d.%m.%Y %H.%M")
    return moment.astimezone(_HELSINKI).strftime("%d.%m.%Y %H.%M")


def _version(composition: Mapping[str, Any]) -> str:
    """Ours: the `-v<n>` of the Composition's id (`compose`); another's: R4's versionNumber extension; else `?`."""
    ours = re.fullmatch(r".+-v(\d+)", str(composition.get("id", "")))
    if ours:
        return ours[1]
    for extension in composition.get("extension", []):
        if isinstance(extension, Mapping) and extension.get("url") == _VERSION_NUMBER and extension.get("valueString"):
            return str(extension["valueString"])
    return "?"
