"""ADT^A04/A08 from the psychiatry EHR over a real MLLP socket: the client identified through
the served gateway as the EHR's system (issue 10)."""

from __future__ import annotations

from pathlib import Path

import httpx
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.settings import Settings
from mappings.psychiatry.adt import PatientMessages
from tests.e2e.gateway_harness import fresh_hetu
from tests.e2e.imports_harness import client_with_own_hetu, mllp_listener, over_mllp, send_when_listening
from tests.ports import free_port


def _adt(hetu: str, *, event: str = "A08", born: str = "", control: str = "MSG0001") -> str:
    pid_7 = born
    return "\r".join(
        [
            f"MSH|^~\\&|PSYK-EHR|DEMOSAIRAALA|YHTEYS|HYVINVOINTIALUE|20261203090000||ADT^{event}^ADT_A01|{control}|P|2.5"
            "|||||FIN|UNICODE UTF-8",
            f"EVN|{event}|20261203090000",
            f"PID|1||{hetu}^^^&1.2.246.21&ISO^NNFIN||Virtanen^Aino||{pid_7}|F",
            "PV1|1|O",
        ]
    )


def _segments(ack: str, name: str) -> list[list[str]]:
    return [segment.split("|") for segment in ack.split("\r") if segment.startswith(name + "|")]


def _exchange(settings: Settings, tmp_path: Path, *messages: str) -> list[str]:
    return over_mllp(settings, tmp_path / "seen.sqlite", lambda client: PatientMessages(client).handle, messages)


def test_a_known_client_is_acknowledged_and_named(served: Settings, fhir: httpx.Client, tmp_path: Path) -> None:
    client, hetu = client_with_own_hetu(fhir)
    [ack] = _exchange(served, tmp_path, _adt(hetu))
    [msa] = _segments(ack, "MSA")
    assert msa[1:3] == ["AA", "MSG0001"] and f"Patient/{client.prefix}-client" in msa[3]
    assert _segments(ack, "MSH")[0][2:4] == ["YHTEYS", "HYVINVOINTIALUE"]  # the header swapped


def test_what_is_wrong_is_said_in_err_and_nothing_is_guessed(
    served: Settings, fhir: httpx.Client, tmp_path: Path
) -> None:
    client, hetu = client_with_own_hetu(fhir)
    wrong = hetu[:-1] + ("A" if hetu[-1] != "A" else "B")
    unknown = fresh_hetu()
    acks = _exchange(
        served,
        tmp_path,
        _adt(unknown, control="M1"),
        _adt(wrong, control="M2"),
        _adt(hetu, born="19991231", control="M3"),
        _adt(hetu, event="A01", control="M4"),
        "MSH|^~\\&|PSYK-EHR|DEMOSAIRAALA|YHTEYS|HYVINVOINTIALUE|20261203090000||ADT^A08^ADT_A01|M5|P|2.5\rPID|x",
    )
    codes = [(_segments(ack, "MSA")[0][1], _segments(ack, "ERR")[0][3].split("^")[0]) for ack in acks]
    assert codes == [("AE", "204"), ("AE", "102"), ("AE", "102"), ("AR", "200"), ("AR", "102")]
    assert _segments(acks[1], "ERR")[0][2] == "PID^1^3"  # where: PID-3
    assert "check character" in _segments(acks[1], "MSA")[0][3]


def test_the_listener_is_started_and_stopped_from_the_command_line(
    served: Settings, fhir: httpx.Client, tmp_path: Path
) -> None:
    client, hetu = client_with_own_hetu(fhir)
    with mllp_listener(served, tmp_path / "seen.sqlite", free_port()) as listener:
        message = tmp_path / "adt.hl7"
        message.write_text(_adt(hetu).replace("\r", "\n"), encoding="utf-8")
        sent = send_when_listening(["mllp", "send", str(message), "--port", str(listener.port)])
        assert sent.exit_code == 0, sent.output
        assert "MSA|AA|MSG0001" in sent.stdout
        again = CliRunner().invoke(app, ["mllp", "send", str(message), "--port", str(listener.port)])
        assert _segments(again.stdout.replace("\n", "\r"), "MSH") == _segments(
            sent.stdout.replace("\n", "\r"), "MSH"
        )  # the same ACK
    assert listener.exit_code == 0, listener.errors
    assert "MLLP listener on 127.0.0.1" in listener.errors
