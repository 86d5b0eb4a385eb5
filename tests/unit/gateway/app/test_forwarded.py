"""Which address the audit trail records as a request's source."""

from __future__ import annotations

import pytest

from gateway.app.forwarded import networks_of, source_address
from gateway.settings import Settings, SettingsError

PROXIES = networks_of(["10.0.0.0/8", "127.0.0.1", "::1"])

CASES = [
    # peer, X-Forwarded-For, trusted, recorded
    ("203.0.113.9", "198.51.100.1", PROXIES, "203.0.113.9"),  # an untrusted peer's header is ignored
    ("127.0.0.1", "198.51.100.1", (), "127.0.0.1"),  # nobody trusted: loopback too
    ("127.0.0.1", "198.51.100.1", PROXIES, "198.51.100.1"),
    ("10.1.2.3", "192.0.2.1, 198.51.100.1, 10.9.9.9", PROXIES, "198.51.100.1"),  # nearest untrusted hop
    ("10.1.2.3", "10.9.9.9, 127.0.0.1", PROXIES, "10.1.2.3"),  # only proxies named
    ("10.1.2.3", "198.51.100.1, garbage", PROXIES, "10.1.2.3"),  # malformed: the peer
    ("::1", "2001:db8::5", PROXIES, "2001:db8::5"),
    ("127.0.0.1", "", PROXIES, "127.0.0.1"),
    (None, "198.51.100.1", PROXIES, None),
]


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "want"), CASES)
def test_the_source_address(peer: str | None, forwarded: str, trusted: tuple[object, ...], want: str | None) -> None:
    assert source_address(peer, forwarded, trusted) == want  # type: ignore[arg-type]


def test_trusted_proxies_are_read_from_the_environment_and_checked() -> None:
    env = {"YHTEYS_GATEWAY_TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1 "}
    assert Settings.from_env(env).gateway_trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    assert Settings.from_env({}).gateway_trusted_proxies == ()
    with pytest.raises(SettingsError, match="YHTEYS_GATEWAY_TRUSTED_PROXIES"):
        Settings.from_env({"YHTEYS_GATEWAY_TRUSTED_PROXIES": "proxy.example"})
