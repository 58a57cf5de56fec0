"""The reference handset: OMAPI error semantics, the ACE's fallbacks and its handling of bad ARA-M data,
and the agent protocol's handling of bad messages (docs/spec/globalplatform.md#android-enforcement;
docs/handset-agent-protocol.md)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jpkikit.errors import DeviceUnreachable, TransportError
from jpkikit.host.handset_client import HandsetClient
from jpkikit.host.link import InProcessTransport
from jpkikit.reference.apps import JPKI_APP, OTHER_APP, READER_APP
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.reference.handset.agent import AgentServer, serve
from jpkikit.reference.handset.handset import ReferenceHandset
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi import agent_protocol as protocol
from jpkikit.vocab.omapi import errors as omapi_errors
from tests import faulty_aram

from .conformance_runner import REPO, outcome, run_conformance

JPKI = bytes.fromhex("D392F000260100000001")
ABSENT = bytes.fromhex("D392F0002601000000FF")


@pytest.fixture
def handset() -> Iterator[ReferenceHandset]:
    h = ReferenceHandset.over_emulator("gp-se")
    yield h
    h.close()


def test_allowed_denied_and_filtered(handset: ReferenceHandset) -> None:
    reader = handset.reader
    channel = reader.open_session(JPKI_APP).open_logical_channel(JPKI)
    assert channel is not None and channel.get_select_response() == b"\x90\x00"
    with pytest.raises(omapi_errors.SecurityError):
        reader.open_session(OTHER_APP).open_logical_channel(JPKI)
    filtered = reader.open_session(READER_APP).open_logical_channel(JPKI)
    assert filtered is not None
    assert filtered.transmit(bytes.fromhex("00A4020C020006")) == b"\x90\x00"
    with pytest.raises(omapi_errors.SecurityError):
        filtered.transmit(bytes.fromhex("0020008000"))


def test_argument_and_state_errors(handset: ReferenceHandset) -> None:
    session = handset.reader.open_session(JPKI_APP)
    with pytest.raises(omapi_errors.IllegalArgumentError):
        session.open_logical_channel(b"\x01\x02")
    handset.store_rules([seac.rule_from_json({"aid": "all", "hash": "", "apdu": "always"})])
    with pytest.raises(omapi_errors.NoSuchElementError):
        session.open_logical_channel(ABSENT)
    session.close()
    with pytest.raises(omapi_errors.IllegalStateError):
        session.open_logical_channel(JPKI)


def test_ace_reads_rules_once_per_refresh_tag(handset: ReferenceHandset) -> None:
    session = handset.reader.open_session(JPKI_APP)
    for _ in range(3):
        channel = session.open_logical_channel(JPKI)
        assert channel is not None
        channel.close()
    assert handset.reader.ace.reads == 1


def _handset_over(card: Card, uicc: bool) -> ReferenceHandset:
    return ReferenceHandset(InProcessTransport(card), uicc=uicc)


@pytest.mark.parametrize(("uicc", "allowed"), [(False, True), (True, False)])
def test_no_aram_means_full_access_on_ese_and_deny_on_uicc(uicc: bool, allowed: bool) -> None:
    card = Card(get_personality("gp-se"))
    del card.registry[seac.ARAM_AID]
    h = _handset_over(card, uicc)
    session = h.reader.open_session(OTHER_APP)
    if allowed:
        assert session.open_logical_channel(JPKI) is not None
    else:
        with pytest.raises(omapi_errors.SecurityError, match="UICC"):
            session.open_logical_channel(JPKI)


def test_basic_channel_on_uicc_is_null() -> None:
    h = ReferenceHandset.over_emulator("sim")
    assert h.reader.open_session(JPKI_APP).open_basic_channel(JPKI) is None


def test_malformed_rules_deny_everything_and_are_reported() -> None:
    h = _handset_over(faulty_aram.malformed_rules("gp-se"), uicc=False)
    with pytest.raises(omapi_errors.SecurityError, match="access rules unusable"):
        h.reader.open_session(JPKI_APP).open_logical_channel(JPKI)
    assert h.reader.ace.error is not None and "AR-DO" in h.reader.ace.error


def test_link_failure_is_io_error(handset: ReferenceHandset) -> None:
    channel = handset.reader.open_session(JPKI_APP).open_logical_channel(JPKI)
    assert channel is not None

    def broken(command: bytes) -> bytes:
        raise TransportError("the SE link is gone")

    handset.terminal.hal.transmit = broken  # type: ignore[method-assign]
    with pytest.raises(omapi_errors.OmapiIOError):
        channel.transmit(bytes.fromhex("00A4020C020006"))


# -- agent protocol ---------------------------------------------------------------------------------------


@pytest.fixture
def agent(handset: ReferenceHandset) -> Iterator[AgentServer]:
    server = serve(handset)
    yield server
    server.stop()


def _raw(sock: socket.socket, line: bytes) -> dict:
    sock.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(65536)
        assert chunk, "the agent closed the connection"
        buf += chunk
    return json.loads(buf)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"\xff\xfe\n", protocol.PARSE_ERROR),
        (b"{}\n", protocol.INVALID_REQUEST),
        (b'{"v":1,"id":true,"method":"service.hello"}\n', protocol.INVALID_REQUEST),
        (b'{"v":1,"id":1,"method":"service.hello","params":[]}\n', protocol.INVALID_REQUEST),
        (b'{"v":2,"id":1,"method":"service.hello"}\n', protocol.UNSUPPORTED_VERSION),
        (
            b'{"v":1,"id":1,"method":"reader.open_session","params":{"reader":"eSE1"}}\n',
            protocol.INVALID_PARAMS,
        ),
        (
            b'{"v":1,"id":1,"method":"reader.open_session","params":{"reader":"eSE1","app":1}}\n',
            protocol.INVALID_PARAMS,
        ),
        (
            b'{"v":1,"id":1,"method":"session.open_logical_channel","params":{"session":"s9"}}\n',
            protocol.UNKNOWN_HANDLE,
        ),
        (
            b'{"v":1,"id":1,"method":"testbed.store_rules","params":{"rules":[{"aid":"zz"}]}}\n',
            protocol.INVALID_PARAMS,
        ),
    ],
)
def test_agent_answers_bad_requests(agent: AgentServer, line: bytes, code: str) -> None:
    with socket.create_connection(agent.address, timeout=5) as sock:
        answer = _raw(sock, line)
        assert answer["v"] == 1 and answer["error"]["code"] == code
        assert "result" in _raw(sock, b'{"v":1,"id":"again","method":"service.hello"}\n')


def test_agent_rejects_an_oversized_line_and_goes_on(agent: AgentServer) -> None:
    with socket.create_connection(agent.address, timeout=5) as sock:
        answer = _raw(sock, b"x" * (protocol.MAX_LINE + 10) + b"\n")
        assert answer["error"]["code"] == protocol.LINE_TOO_LONG
        assert "result" in _raw(sock, b'{"v":1,"id":2,"method":"service.hello"}\n')


def test_client_maps_omapi_errors_and_closes_sessions_on_disconnect(
    agent: AgentServer, handset: ReferenceHandset
) -> None:
    client = HandsetClient(*agent.address)
    with pytest.raises(omapi_errors.SecurityError):
        client.open_session("eSE1", OTHER_APP.hashes).open_logical_channel(JPKI)
    channel = client.open_session("eSE1", JPKI_APP.hashes).open_logical_channel(JPKI)
    assert channel is not None and channel.select_response == b"\x90\x00"
    with pytest.raises(protocol.AgentProtocolError, match="unknown_method"):
        client.call("no.such")
    client.close()
    for _ in range(100):
        if not handset.reader.logical_in_use:
            break

        time.sleep(0.01)
    assert not handset.reader.logical_in_use, "the agent kept the closed connection's channels open"


def test_client_reports_an_unreachable_agent() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeviceUnreachable, match="adb forward"):
        HandsetClient("127.0.0.1", port, timeout=1)


pytest_plugins = ["pytester"]
BASE = REPO / "profiles" / "reference-handset.yaml"


def test_conformance_through_an_agent_address(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """ixit.handset.agent: the kit connects to an agent it did not start (as behind `adb forward`)."""
    handset = ReferenceHandset.over_emulator("gp-se")
    server = serve(handset)
    try:
        doc = yaml.safe_load(BASE.read_text())
        host, port = server.address
        doc["ixit"]["handset"].pop("reference")
        doc["ixit"]["handset"]["agent"] = {"host": host, "port": port, "timeout": 10}
        path = tmp_path / "agent.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        result = run_conformance(pytester, path, "conformance/handset")
        counts = outcome(result)
        assert set(counts) == {"passed"} and counts["passed"] >= 20, counts
    finally:
        server.stop()
        handset.close()
