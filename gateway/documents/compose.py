"""A plan document composed from what its recipient may see: a FHIR document Bundle, unsigned; pure.

`compose(request, resources)` builds the document of one client's shared plan from `resources`
(`Type/id` → resource, already redacted for the recipient, and closed under references: every
reference in them names another of them, `gateway.documents.structure`). The Composition
(LOINC 18776-5, plan of care) is the first entry; its sections, with narrative in the
document's language (fi, or sv on request):

1. the client (Patient);
2. the goals (the plan's goals that are among `resources`);
3. the activities, one section per owning sector, each naming the plan;
4. the team (CareTeam) and 5. the personal worker (the open personal-worker member's
   PractitionerRole, with how to reach them);
6. the consents in force, as the words `request.consents` gives (`consent_lines`: what they
   permit the recipient; no Consent resource, so a recipient who may not read consents still
   learns on what consent it receives the plan).

Nothing hidden from the recipient is in `resources`, so nothing of it is in the document, nor
any word of it: the narrative is made only from what is there. `DocumentRequest` names the
recipient, the purpose, the document's identifier and version, when, and the document it
replaces (`Composition.relatesTo` replaces). Entries have absolute `fullUrl`s under `base`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.access.careteam import personal_worker_of
from gateway.fhir.systems import COMPOSITION_VERSION, LOINC_SYSTEM, OWNING_SECTOR, SECTOR_SYSTEM, URI_SYSTEM
from gateway.terminology import display

__all__ = ["PLAN_OF_CARE", "DocumentRequest", "compose", "consent_lines", "left_out", "sector_name"]

PLAN_OF_CARE = {"system": LOINC_SYSTEM, "code": "18776-5", "display": "Plan of care note"}
_WORDS = {
    "fi": {
        "title": "Yhteinen asiakassuunnitelma",
        "client": "Asiakas",
        "goals": "Tavoitteet",
        "activities": "Toimenpiteet",
        "team": "Omatiimi",
        "worker": "Omatyöntekijä",
        "consents": "Voimassa olevat suostumukset",
        "born": "syntynyt",
        "due": "tavoiteaika",
        "none": "Ei merkintöjä.",
        "reach": "yhteystiedot",
        "nobody": "Omatyöntekijää ei ole nimetty.",
        "for": "Vastaanottaja",
        "purpose": "Tarkoitus",
        "left_out": "Ei sisälly tähän asiakirjaan",
        "consent": "Suostumus {date}: {who} saa tiedot ({what}) tarkoitukseen {why}; voimassa {period}.",
        "anyone": "asiakkaan palveluihin osallistuvat organisaatiot",
        "all": "kaikki suunnitelman tiedot",
        "always": "toistaiseksi",
    },
    "sv": {
        "title": "Gemensam klientplan",
        "client": "Klient",
        "goals": "Mål",
        "activities": "Åtgärder",
        "team": "Team",
        "worker": "Egen kontaktperson",
        "consents": "Gällande samtycken",
        "born": "född",
        "due": "måldatum",
        "none": "Inga anteckningar.",
        "reach": "kontaktuppgifter",
        "nobody": "Ingen egen kontaktperson har utsetts.",
        "for": "Mottagare",
        "purpose": "Syfte",
        "left_out": "Ingår inte i detta dokument",
        "consent": "Samtycke {date}: {who} får uppgifterna ({what}) för {why}; gäller {period}.",
        "anyone": "organisationerna som deltar i klientens tjänster",
        "all": "alla uppgifter i planen",
        "always": "tills vidare",
    },
}


@dataclass(frozen=True)
class DocumentRequest:
    """What a document is for: the client's plan, the issuer, the recipient (an Organization
    reference, and its name for the narrative), the purpose (a v3-ActReason code), its identity,
    when, and what it replaces.

    `identifier` names the series (Composition.identifier, the same in every version);
    `instance` this version (Bundle.identifier, never reused; the series' identifier if empty);
    `replaces` the instance identifier of the version this one replaces."""

    plan: str
    issuer: str
    recipient: str
    purpose: str
    identifier: str
    version: int
    date: str
    base: str
    language: str = "fi"
    consents: Sequence[str] = ()
    replaces: str | None = None
    instance: str = ""
    recipient_name: str = ""

    @property
    def document_identifier(self) -> str:
        """Bundle.identifier.value of this version."""
        return self.instance or self.identifier


def compose(request: DocumentRequest, resources: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The document Bundle of `request` from `resources`; `KeyError` if the plan or its client is missing."""
    words = _WORDS["sv" if request.language == "sv" else "fi"]
    plan = resources[request.plan]
    client_ref = str(plan["subject"]["reference"])
    client = resources[client_ref]
    sections = [
        _section(words["client"], [client_ref], [_client_line(client, words)]),
        _goals(plan, resources, words),
        *_activities(request, plan, words),
        *_team(plan, resources, words),
        _section(words["consents"], [], [html.escape(text) for text in request.consents] or [words["none"]]),
    ]
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": f"{request.document_identifier.rsplit(':', 1)[-1]}"[:64],
        "extension": [{"url": COMPOSITION_VERSION, "valueString": str(request.version)}],
        "language": request.language,
        "identifier": {"system": URI_SYSTEM, "value": request.identifier},
        "status": "final",
        "type": {"coding": [PLAN_OF_CARE]},
        "subject": {"reference": client_ref},
        "date": request.date,
        "author": [{"reference": request.issuer}],
        "title": words["title"],
        "custodian": {"reference": request.issuer},
        "section": sections,
    }
    if request.replaces:
        composition["relatesTo"] = [
            {"code": "replaces", "targetIdentifier": {"system": URI_SYSTEM, "value": request.replaces}}
        ]
    composition["text"] = _narrative(
        [
            f"{words['title']}",
            f"{words['for']}: {request.recipient_name or request.recipient}",
            f"{words['purpose']}: {request.purpose}",
        ]
    )
    entries = [{"fullUrl": f"{request.base}/Composition/{composition['id']}", "resource": composition}]
    for reference in sorted(resources):
        entries.append({"fullUrl": f"{request.base}/{reference}", "resource": dict(resources[reference])})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": URI_SYSTEM, "value": request.document_identifier},
        "type": "document",
        "timestamp": request.date,
        "entry": entries,
    }


_KINDS = {
    "fi": {"CarePlan": "suunnitelma", "Goal": "tavoitteet", "CareTeam": "omatiimi", "Condition": "tarpeet",
           "Patient": "henkilötiedot", "Consent": "suostumukset"},
    "sv": {"CarePlan": "planen", "Goal": "målen", "CareTeam": "teamet", "Condition": "behoven",
           "Patient": "personuppgifterna", "Consent": "samtyckena"},
}  # fmt: skip
_PURPOSES = {
    "fi": {"TREAT": "hoito ja palvelu", "CAREMGT": "palvelujen yhteensovittaminen"},
    "sv": {"TREAT": "vård och service", "CAREMGT": "samordning av tjänster"},
}


def left_out(language: str) -> str:
    """The words a document has in place of a reference to something it does not hold."""
    return _WORDS["sv" if language == "sv" else "fi"]["left_out"]


def consent_lines(
    consents: Sequence[Mapping[str, Any]], names: Mapping[str, str], language: str, recipient: str
) -> list[str]:
    """The consents in force for `recipient`, one plain line each: when given, what the recipient
    organisation may have, for which purposes, and for how long. Only what a consent permits the
    recipient (or everyone) is told: its refusals name what is refused, and its permits for other
    organisations name who else is involved, which a document must not hint at. `names` gives
    organisations' names."""
    language = "sv" if language == "sv" else "fi"
    words, kinds, purposes = _WORDS[language], _KINDS[language], _PURPOSES[language]
    lines = []
    for consent in consents:
        provision: Mapping[str, Any] = consent.get("provision") or {}
        for permit in [p for p in provision.get("provision", []) if p.get("type") == "permit"] or [provision]:
            actors = [str(a.get("reference", {}).get("reference", "")) for a in permit.get("actor", [])]
            if actors and recipient not in actors:
                continue
            who = names.get(recipient, recipient) if actors else words["anyone"]
            what = ", ".join(kinds.get(str(c.get("code")), str(c.get("code"))) for c in permit.get("class", []))
            why = ", ".join(
                purposes.get(str(p.get("code")), str(p.get("code")))
                for p in permit.get("purpose", []) or provision.get("purpose", [])
            )
            period: Mapping[str, Any] = permit.get("period") or provision.get("period") or {}
            span = f"{period.get('start', '')}–{period.get('end', '')}" if period.get("end") else words["always"]
            date = str(consent.get("dateTime", ""))[:10]
            lines.append(words["consent"].format(date=date, who=who, what=what or words["all"], why=why, period=span))
    return lines


def sector_name(code: str, language: str) -> str:
    """The sector's name in `language` (fi, sv, en), from CodeSystem/sector; the code if unknown."""
    return display("sector", code, language) or code


def _client_line(client: Mapping[str, Any], words: Mapping[str, str]) -> str:
    name: Mapping[str, Any] = next(iter(client.get("name", [])), {})
    full = " ".join([*name.get("given", []), name.get("family", "")]).strip()
    born = f", {words['born']} {client['birthDate']}" if client.get("birthDate") else ""
    return html.escape(f"{full}{born}")


def _goals(
    plan: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]], words: Mapping[str, str]
) -> dict[str, Any]:
    references = [str(g["reference"]) for g in plan.get("goal", []) if str(g.get("reference")) in resources]
    lines = []
    for reference in references:
        goal = resources[reference]
        due = next((t.get("dueDate") for t in goal.get("target", []) if t.get("dueDate")), None)
        text = str(goal.get("description", {}).get("text", ""))
        lines.append(html.escape(text + (f" ({words['due']} {due})" if due else "")))
    return _section(words["goals"], references, lines or [words["none"]])


def _activities(request: DocumentRequest, plan: Mapping[str, Any], words: Mapping[str, str]) -> list[dict[str, Any]]:
    by_sector: dict[str, list[str]] = {}
    for activity in plan.get("activity", []):
        owner = next(
            (
                e["valueCoding"].get("code")
                for e in activity.get("extension", [])
                if e.get("url") == OWNING_SECTOR
                and isinstance(e.get("valueCoding"), Mapping)
                and e["valueCoding"].get("system") == SECTOR_SYSTEM
            ),
            "",
        )
        detail = activity.get("detail", {})
        performers = ", ".join(str(p.get("display", "")) for p in detail.get("performer", []) if p.get("display"))
        line = str(detail.get("code", {}).get("text") or detail.get("description") or "")
        if detail.get("scheduledString"):
            line += f" – {detail['scheduledString']}"
        if performers:
            line += f" ({performers})"
        by_sector.setdefault(str(owner), []).append(html.escape(line))
    language = "sv" if request.language == "sv" else "fi"
    return [
        _section(f"{words['activities']}: {sector_name(sector, language)}", [request.plan], lines)
        for sector, lines in sorted(by_sector.items())
    ]


def _team(
    plan: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]], words: Mapping[str, str]
) -> list[dict[str, Any]]:
    teams = [str(t["reference"]) for t in plan.get("careTeam", []) if str(t.get("reference")) in resources]
    if not teams:
        return [_section(words["team"], [], [words["none"]]), _section(words["worker"], [], [words["nobody"]])]
    team = resources[teams[0]]
    lines = []
    for participant in team.get("participant", []):
        if participant.get("period", {}).get("end"):
            continue
        roles = ", ".join(
            str(c.get("display") or c.get("code")) for r in participant.get("role", []) for c in r.get("coding", [])
        )
        member = str(participant.get("member", {}).get("display") or _display(resources, participant.get("member", {})))
        lines.append(html.escape(f"{member}: {roles}"))
    worker = personal_worker_of(team)
    sections = [_section(words["team"], teams, lines or [words["none"]])]
    if worker is None or worker not in resources:
        sections.append(_section(words["worker"], [], [words["nobody"]]))
    else:
        role = resources[worker]
        reach = ", ".join(str(t.get("value")) for t in role.get("telecom", []) if t.get("value"))
        line = _display(resources, {"reference": worker}) + (f" – {words['reach']}: {reach}" if reach else "")
        sections.append(_section(words["worker"], [worker], [html.escape(line)]))
    return sections


def _display(resources: Mapping[str, Mapping[str, Any]], reference: Mapping[str, Any]) -> str:
    """A person's name for a reference to a PractitionerRole, Practitioner, Patient or RelatedPerson."""
    target = resources.get(str(reference.get("reference")), {})
    if target.get("resourceType") == "PractitionerRole":
        target = resources.get(str(target.get("practitioner", {}).get("reference")), target)
    name: Mapping[str, Any] = next(iter(target.get("name", [])), {}) if isinstance(target.get("name"), list) else {}
    full = " ".join([*name.get("given", []), name.get("family", "")]).strip()
    return full or str(reference.get("display") or reference.get("reference") or "")


def _section(title: str, references: Sequence[str], lines: Sequence[str]) -> dict[str, Any]:
    section: dict[str, Any] = {"title": title, "text": _narrative(lines, escaped=True)}
    if references:
        section["entry"] = [{"reference": reference} for reference in dict.fromkeys(references)]
    return section


def _narrative(lines: Sequence[str], *, escaped: bool = False) -> dict[str, str]:
    items = "".join(f"<li>{line if escaped else html.escape(line)}</li>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>'}
