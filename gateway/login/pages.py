"""The login pages' words and the one-message pages (fi, sv, en), shared by the login endpoints
and the pages that need a login (`gateway.review`).

`message_page(kind, lang, status)` is a complete page saying one thing — signed_out, failed,
required (log in first, or the session expired), refused (a form without this session's CSRF
token) — with a login link; `page_headers()` the headers of every page with personal data
(never cached, scripted or framed); `render(template, **values)` any login template;
`language_of(request)` the `lang` asked for (Finnish if none or unknown).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.templates import LANGUAGES, page_templates, translated

__all__ = ["language_of", "message_page", "page_headers", "render", "texts_for"]

_PRIVATE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
_environment = page_templates("gateway.login")


def page_headers(*form_origins: str) -> dict[str, str]:
    """The headers of every page with personal data: never cached, never scripted or framed; its
    forms go only to this gateway, and from there (a redirect after a form counts) to `form_origins`."""
    headers = dict(_PRIVATE)
    if form_origins:
        targets = " ".join(form_origins)
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
            "form-action 'self'", f"form-action 'self' {targets}"
        )
    return headers


_TEXTS: dict[str, tuple[str, str, str]] = {
    "title_me": ("Omat tietoni", "Mina uppgifter", "My details"),
    "logged_in_as": ("Olet kirjautunut nimellä", "Du är inloggad som", "You are logged in as"),
    "as_professional": ("ammattilaisena", "som yrkesperson", "as a professional"),
    "as_citizen": ("asiakkaana tai huoltajana", "som klient eller vårdnadshavare", "as a client or guardian"),
    "console": ("Lokitietojen valvonta", "Granskning av loggdata", "Audit console"),
    "own_plan": ("Oma suunnitelmani ja tiimini", "Min plan och mitt team", "My plan and my team"),
    "own_consents": ("Suostumukseni", "Mina samtycken", "My consents"),
    "acting_for": ("Kenen asioita hoidat", "Vems ärenden sköter du", "Whose matters you handle"),
    "own_self": ("omat asiani", "mina egna ärenden", "my own"),
    "ward": ("huollettavani", "min myndling", "my ward"),
    "choose": ("Vaihda", "Byt", "Switch"),
    "own_report": (
        "Kuka on käsitellyt tietojani",
        "Vem har använt mina uppgifter",
        "Who has used my information",
    ),
    "no_pages": (
        "Roolillesi ei ole vielä omia sivuja tässä palvelussa.",
        "Det finns ännu inga sidor för din roll i den här tjänsten.",
        "There are no pages for your role in this service yet.",
    ),
    "logout": ("Kirjaudu ulos", "Logga ut", "Log out"),
    "login": ("Kirjaudu sisään", "Logga in", "Log in"),
    "title_signed_out": ("Olet kirjautunut ulos", "Du har loggat ut", "You have logged out"),
    "signed_out": (
        "Istuntosi on päättynyt. Sulje selain, jos käytät yhteistä laitetta.",
        "Din session har avslutats. Stäng webbläsaren om du använder en delad enhet.",
        "Your session has ended. Close the browser if you are on a shared device.",
    ),
    "title_failed": ("Kirjautuminen epäonnistui", "Inloggningen misslyckades", "Login failed"),
    "failed": (
        "Kirjautumista ei voitu viedä loppuun. Yritä uudelleen.",
        "Inloggningen kunde inte slutföras. Försök igen.",
        "The login could not be completed. Please try again.",
    ),
    "title_required": ("Kirjaudu sisään", "Logga in", "Please log in"),
    "required": (
        "Tämä sivu vaatii kirjautumisen, tai istuntosi on vanhentunut.",
        "Den här sidan kräver inloggning, eller så har din session gått ut.",
        "This page needs you to log in, or your session has expired.",
    ),
    "title_refused": ("Pyyntö estettiin", "Begäran nekades", "Request refused"),
    "refused": (
        "Lomake oli vanhentunut tai sitä ei lähetetty tästä istunnosta. Avaa sivu uudelleen ja yritä uudestaan.",
        "Formuläret var för gammalt eller skickades inte från den här sessionen. Öppna sidan igen och försök på nytt.",
        "The form was stale or not sent from this session. Open the page again and retry.",
    ),
    "title_error": ("Pyyntöä ei voitu toteuttaa", "Begäran kunde inte utföras", "The request could not be done"),
    "error": (
        "Mitään ei muutettu. Yritä myöhemmin uudelleen.",
        "Ingenting ändrades. Försök igen senare.",
        "Nothing was changed. Please try again later.",
    ),
    "again": ("Takaisin", "Tillbaka", "Back"),
    "why": ("Syy", "Orsak", "Reason"),
    "languages": ("Kieli", "Språk", "Language"),
}


def texts_for(lang: str) -> dict[str, str]:
    """Every text of the login pages in `lang` (one of `LANGUAGES`)."""
    return translated(_TEXTS, lang)


def language_of(request: Request) -> str:
    """The page language the request asks for (`lang`), Finnish if none or unknown."""
    lang = request.query_params.get("lang", "")
    return lang if lang in LANGUAGES else "fi"


def message_page(kind: str, lang: str, status: int, *, why: str = "", link: str = "") -> HTMLResponse:
    """A page that says one thing (`kind`: signed_out, failed, required, refused, error), with a
    link: to log in, or for an error back to `link`."""
    t = texts_for(lang)
    page = render(
        "message.html",
        lang=lang,
        t=t,
        title=t[f"title_{kind}"],
        text=t[kind],
        why=why,
        link=link or f"/login?lang={lang}",
        link_text=t["again" if kind == "error" else "login"],
    )
    return HTMLResponse(page, status_code=status, headers=page_headers())


def render(template: str, **values: Any) -> str:
    """The login template `template` rendered with `values`."""
    return _environment.get_template(template).render(**values)
