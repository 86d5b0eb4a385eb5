"""The one way the gateway's pages are templated: jinja2, every value escaped, nothing undefined.

`page_templates(package)` answers the Environment of `<package>/templates/*.html`: autoescaping on
for every template (nothing a record, a document or a request carries becomes markup), undefined
names an error rather than empty text, and blocks trimmed. The review pages and the plan
document's page both use it.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["page_templates"]


def page_templates(package: str) -> Environment:
    """The template environment of `package`'s `templates` folder; see the module doc."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
