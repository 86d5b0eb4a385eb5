"""What a rule id in the trail means, in Finnish, Swedish and English: the reason catalogue.

Every reason a decider gives cites a rule URI, and that URI is what an audit event keeps
(`AuditEvent.agent.policy`). `ReasonCatalogue.of(policy)` indexes every such URI the gateway can
write: each reason of the role policy (`Policy.reasons`: the rules of rules.yaml, its checks,
hidden labels, consent requirement and break-the-glass) and each reason of the consent decider
that cites no consent (`consent_reasons`). A rule citing one of the client's consents,
`<CONSENT_RULE_BASE>Consent/<id>`, is explained as that consent (`CITED_CONSENT`, naming it):
the trail does not say which of the consent's reasons it stood for when a request had several.

`explain(rule)` answers an `Explanation`, or `UnknownRule` for a URI the catalogue does not
know (an event written by another version of the policy): the caller shows the URI itself,
never a made-up text. Pure; build once (at start-up) and share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gateway.access.consent.decider import consent_reasons
from gateway.access.policy.model import Policy
from gateway.access.seam import Reason
from gateway.fhir.ids import is_id
from gateway.fhir.systems import CONSENT_RULE_BASE

__all__ = ["CITED_CONSENT", "Explanation", "ReasonCatalogue", "UnknownRule"]

CITED_CONSENT = ("Asiakkaan suostumus", "Klientens samtycke", "The client's consent")
"""The text of a rule citing one of the client's consents (fi, sv, en); the consent is named beside it."""

_LANGUAGES = ("fi", "sv", "en")
_CONSENT_RULE = f"{CONSENT_RULE_BASE}Consent/"


@dataclass(frozen=True)
class Explanation:
    """A known rule: its texts (fi, sv, en) and, for a rule citing a consent, that consent
    ("Consent/<id>"; "" for every other rule)."""

    rule: str
    texts: tuple[str, str, str]
    consent: str = ""

    def text(self, lang: str) -> str:
        """The text in `lang` (fi, sv or en; `ValueError` otherwise)."""
        if lang not in _LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(_LANGUAGES)}, not {lang!r}")
        return self.texts[_LANGUAGES.index(lang)]


@dataclass(frozen=True)
class UnknownRule:
    """A rule URI the catalogue does not know: show the URI, invent nothing."""

    rule: str


class ReasonCatalogue:
    """Rule URI → texts, for every reason the gateway's deciders give; see the module doc."""

    def __init__(self, reasons: Iterable[Reason]) -> None:
        self._texts: Mapping[str, tuple[str, str, str]] = MappingProxyType(
            {reason.rule: (reason.text_fi, reason.text_sv, reason.text_en) for reason in reasons}
        )

    @classmethod
    def of(cls, policy: Policy) -> ReasonCatalogue:
        """The catalogue of `policy`'s reasons and the consent decider's."""
        return cls((*policy.reasons(), *consent_reasons()))

    @property
    def rules(self) -> frozenset[str]:
        """Every rule URI with texts of its own (rules citing a consent are not listed: any id is one)."""
        return frozenset(self._texts)

    def explain(self, rule: str) -> Explanation | UnknownRule:
        """What `rule` means; `UnknownRule` if the catalogue does not know it."""
        texts = self._texts.get(rule)
        if texts is not None:
            return Explanation(rule, texts)
        consent_id = rule.removeprefix(_CONSENT_RULE)
        if rule.startswith(_CONSENT_RULE) and is_id(consent_id):
            return Explanation(rule, CITED_CONSENT, f"Consent/{consent_id}")
        return UnknownRule(rule)
