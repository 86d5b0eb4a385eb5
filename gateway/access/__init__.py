"""Access decisions: the seam, the deciders and the facts about a client they read; pure.

Nothing here does I/O or knows HTTP: the deciders get what the store holds about a client as
values (read by `gateway.store.facts`) and answer with `AccessDecision`s.

    seam       AccessRequest, AccessDecision, Effect, Reason, combine: what deciders see and say
    decider    Decider: role policy and consent combined, per resource, for one request
    policy/    the role policy: rules.yaml (policy as data), its loader and its engine
    consent/   the client's Consent as a decider (decider) and a Consent read strictly (terms)
    reasons    the reason catalogue: what each rule id in the trail means, in fi, sv and en
    labels     sensitivity labels and activity owners read off FHIR JSON
    subjects   whose client a resource is
    careteam   the personal worker and the rules of a team's change
"""

__all__: list[str] = []
