"""The launcher fails loudly, with HAPI's own log, when HAPI cannot come up."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gateway.settings import Settings
from gateway.store.hapi import HapiError, HapiServer


@pytest.mark.slow
def test_start_fails_with_the_log_tail_when_the_port_is_taken(hapi: HapiServer, tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = HapiServer(Settings.from_env().with_changes(data_dir=tmp_path, hapi_port=port, hapi_db_url=""))
        with pytest.raises(HapiError) as caught:
            server.start()
    message = str(caught.value)
    assert "HAPI exited with code" in message
    assert str(port) in message  # Spring's own complaint about the port, from the log tail
    assert server.status().running is False
    assert not server.pid_file.exists()


def test_start_refuses_a_second_server_on_the_same_data(hapi: HapiServer) -> None:
    twin = HapiServer(hapi.settings)
    with pytest.raises(HapiError, match="already running"):
        twin.start()
    assert hapi.status().ready is True
