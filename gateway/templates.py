"""The one way the gateway's pages are templated: jinja2, every value escaped, nothing undefined.

`page_templates(package)` answers the Environment of `<package>/templates/*.html`: autoescaping on
for every template (nothing a record, a document or a request carries becomes markup), undefined
names an error rather than empty text, and blocks trimmed. The review pages and the plan
document's page both use it. `translated(table, lang)` picks one language of a page's
text table (fi, sv, en: `LANGUAGES`).
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "page_templates", "translated"]

LANGUAGES = ("fi", "sv", "en")
"""The languages of every page, in this order in every text table."""
LANGUAGE_NAMES = {"fi": "suomi", "sv": "svenska", "en": "English"}
"""Each language's name in itself, for the language links."""


def page_templates(package: str) -> Environment:
    """The template environment of `package`'s `templates` folder; see the module doc."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def translated(table: Mapping[str, tuple[str, str, str]], lang: str) -> dict[str, str]:
    """Every text of `table` (key → (fi, sv, en)) in `lang`; `ValueError` if it is not one of `LANGUAGES`."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    index = LANGUAGES.index(lang)
    return {key: values[index] for key, values in table.items()}
