"""The store's URLs made the gateway's, in headers and Bundles: the store's base is never shown.

`PublicUrls(store_base, public_base)`: `url(u)` rewrites one URL on the store's FHIR base to
the same path on the gateway's (others pass unchanged); `headers(answer)` keeps the headers
a client may see (ETag, Last-Modified, Location, Content-Location) with their URLs
rewritten; `bundle(b)` rewrites a Bundle's link URLs and entry fullUrls in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.store.client import UpstreamResponse

__all__ = ["PublicUrls"]


@dataclass(frozen=True)
class PublicUrls:
    """Rewrites URLs of the store at `store_base` to the gateway at `public_base`."""

    store_base: str
    public_base: str

    def url(self, url: str) -> str:
        """`url` on the gateway, if it is on the store's base; else `url` unchanged."""
        base = self.store_base.rstrip("/")
        if url == base or url.startswith(base + "/") or url.startswith(base + "?"):
            return self.public_base.rstrip("/") + url[len(base) :]
        return url

    def headers(self, answer: UpstreamResponse) -> dict[str, str]:
        """The store's headers a client may see, with the store's URLs made the gateway's."""
        headers = {name: answer.headers[name] for name in ("etag", "last-modified") if name in answer.headers}
        for name in ("location", "content-location"):
            if name in answer.headers:
                headers[name] = self.url(answer.headers[name])
        return headers

    def bundle(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """`bundle` with the store's base replaced by the gateway's in links and fullUrls."""
        for link in bundle.get("link", []):
            if isinstance(link, dict) and isinstance(link.get("url"), str):
                link["url"] = self.url(link["url"])
        for entry in bundle.get("entry", []):
            if isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str):
                entry["fullUrl"] = self.url(entry["fullUrl"])
        return bundle
