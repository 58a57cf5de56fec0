"""The reference handset as Android's SecureElement service (jpkikit/reference/handset): OMAPI errors, the
ACE's rule sources and fallbacks by API level, the ARF reader, the SE HAL, and the agent protocol's handling
of bad messages and versions (docs/android-behaviours.md, docs/handset-agent-protocol.md)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jpkikit.errors import DeviceUnreachable
from jpkikit.host.handset_client import AppRef, HandsetClient
from jpkikit.reference.apps import JPKI_APP, OTHER_APP, READER_APP, AppIdentity
from jpkikit.reference.handset.agent import AgentServer, serve
from jpkikit.reference.handset.handset import ReferenceHandset
from jpkikit.reference.handset.omapi import SEService
from jpkikit.vocab.gp import arf, seac
from jpkikit.vocab.omapi import agent_protocol as protocol
from jpkikit.vocab.omapi import errors as omapi_errors
from jpkikit.vocab.omapi import test_applets as t
from jpkikit.vocab.omapi.android import Android, channel_cla

from .conformance_runner import REPO, outcome, run_conformance

JPKI = bytes.fromhex("D392F000260100000001")
ABSENT = bytes.fromhex("D392F0002601000000FF")


@pytest.fixture
def handset() -> Iterator[ReferenceHandset]:
    h = ReferenceHandset.over_emulator("gp-se")
    yield h
    h.close()


def _session(h: ReferenceHandset, app: AppIdentity = JPKI_APP):  # type: ignore[no-untyped-def]
    return h.se_service(app).get_readers()[0].open_session()


def _can_open(h: ReferenceHandset, app: AppIdentity, aid: bytes = JPKI) -> bool:
    try:
        channel = _session(h, app).open_logical_channel(aid)
    except omapi_errors.SecurityError:
        return False
    assert channel is not None
    channel.close()
    return True


def test_allowed_denied_and_filtered(handset: ReferenceHandset) -> None:
    channel = _session(handset).open_logical_channel(JPKI)
    assert channel is not None and channel.get_select_response() == b"\x90\x00"
    with pytest.raises(omapi_errors.SecurityError):
        _session(handset, OTHER_APP).open_logical_channel(JPKI)
    filtered = _session(handset, READER_APP).open_logical_channel(JPKI)
    assert filtered is not None
    assert filtered.transmit(bytes.fromhex("00A4020C020006")) == b"\x90\x00"
    with pytest.raises(omapi_errors.SecurityError):
        filtered.transmit(bytes.fromhex("0020008000"))


def test_argument_and_state_errors(handset: ReferenceHandset) -> None:
    session = _session(handset)
    with pytest.raises(omapi_errors.IllegalArgumentError):
        session.open_logical_channel(b"\x01\x02")
    with pytest.raises(omapi_errors.UnsupportedOperationError):
        session.open_logical_channel(JPKI, 0x01)
    handset.store_rules([seac.rule_from_json({"aid": "all", "hash": "", "apdu": "always"})])
    with pytest.raises(omapi_errors.NoSuchElementError):
        session.open_logical_channel(ABSENT)
    session.close()
    with pytest.raises(omapi_errors.IllegalStateError):
        session.open_logical_channel(JPKI)


def test_ace_reads_rules_once_per_refresh_tag(handset: ReferenceHandset) -> None:
    ace = handset.terminal.ace
    assert ace is not None and ace.ara is not None
    before = ace.ara.reads
    for _ in range(3):
        assert _can_open(handset, JPKI_APP)
    assert ace.ara.reads == before


@pytest.mark.parametrize(("api", "full"), [(29, True), (30, False), (35, False)])
def test_ese_without_aram(api: int, full: bool) -> None:
    h = ReferenceHandset.over_emulator("gp-se", android_api=api)
    h.set_rule_sources(False)
    h.reset_se()
    assert _can_open(h, OTHER_APP) is full


@pytest.mark.parametrize("access_rules", ["aram", "arf"])
def test_uicc_rule_sources(access_rules: str) -> None:
    h = ReferenceHandset.over_emulator("sim", access_rules=access_rules)  # type: ignore[arg-type]
    ace = h.terminal.ace
    assert ace is not None and (ace.use_ara, ace.use_arf) == (access_rules == "aram", access_rules == "arf")
    assert _can_open(h, JPKI_APP) and not _can_open(h, OTHER_APP)
    store = h.store_rules(
        [seac.rule_from_json({"aid": JPKI.hex(), "hash": OTHER_APP.hashes[0].hex(), "apdu": "always"})]
    )
    assert store == access_rules
    assert _can_open(h, OTHER_APP) and not _can_open(h, JPKI_APP)
    h.set_rule_sources(False)
    h.reset_se()
    assert not _can_open(h, OTHER_APP)


def test_arf_through_ef_dir_needs_a_path() -> None:
    """With the PKCS#15 application not selectable by AID, AOSP looks it up in EF DIR; a record without path
    (tag 51) leaves the ARF unusable and everything denied."""
    h = ReferenceHandset.over_emulator("sim", access_rules="arf")
    h.card.registry[arf.PKCS15_AID].life_cycle = 0x83  # type: ignore[attr-defined]
    h.reset_se()
    assert not _can_open(h, JPKI_APP)
    trace = h.se_trace()
    assert bytes.fromhex("00A40004022F00")[1:] in b"".join(c[1:] for c in trace), "EF DIR was not read"


def test_basic_channel_on_uicc_is_null() -> None:
    h = ReferenceHandset.over_emulator("sim")
    assert _session(h).open_basic_channel(JPKI) is None


@pytest.mark.parametrize("fault", ["no-refresh-tag", "malformed-rules", "next-error", "no-rules"])
def test_unusable_aram_denies_everything(handset: ReferenceHandset, fault: str) -> None:
    handset.set_se_fault(fault)
    handset.reset_se()
    assert not _can_open(handset, JPKI_APP)
    handset.set_se_fault(None)
    handset.reset_se()
    assert _can_open(handset, JPKI_APP)


def test_link_failure_is_io_error(handset: ReferenceHandset) -> None:
    channel = _session(handset).open_logical_channel(JPKI)
    assert channel is not None
    handset.hal.broken = True
    with pytest.raises(omapi_errors.OmapiIOError):
        channel.transmit(bytes.fromhex("00A4020C020006"))


def test_getuiccreader_and_reset_by_api() -> None:
    from jpkikit.reference.handset.errors import NotAvailable

    old = ReferenceHandset.over_emulator("sim", android_api=29)
    service = old.se_service(JPKI_APP)
    assert service.get_version() == "3.2"
    with pytest.raises(NotAvailable):
        service.get_uicc_reader(1)
    new = ReferenceHandset.over_emulator("sim")
    service = new.se_service(JPKI_APP)
    assert service.get_version() == "3.3" and service.get_uicc_reader(1).get_name() == "SIM1"
    with pytest.raises(omapi_errors.SecurityError):
        service.get_readers()[0].reset()
    system = AppIdentity("system", (bytes(20),), "jp.jpkikit.system", privileged=True)
    assert new.se_service(system).get_readers()[0].reset() is True


def test_privileged_app_bypasses_the_ace(handset: ReferenceHandset) -> None:
    system = AppIdentity("system", (bytes(20),), "jp.jpkikit.system", privileged=True)
    channel = _session(handset, system).open_logical_channel(JPKI)
    assert channel is not None
    select = bytes.fromhex("00A404000A") + JPKI + b"\x00"
    assert channel.transmit(select)[-2:] == b"\x90\x00"  # a privileged app may SELECT by DF name


@pytest.mark.parametrize("api", [29, 30, 31, 35])
def test_channel_cla_coding(api: int) -> None:
    for cla in (0x00, 0x0C, 0x4C, 0x84):
        for n in range(20):
            out = channel_cla(cla, n, api)
            assert (out & 0x03 if n < 4 else 4 + (out & 0x0F)) == n
    assert channel_cla(0x4C, 5, 30) == 0x61 and channel_cla(0x4C, 5, 31) == 0x41
    assert Android(api).api == api


def test_app_services_are_separate(handset: ReferenceHandset) -> None:
    a = handset.se_service(JPKI_APP)
    b = handset.se_service(READER_APP)
    sa, sb = a.get_readers()[0].open_session(), b.get_readers()[0].open_session()
    a.get_readers()[0].close_sessions()
    assert sa.is_closed() and not sb.is_closed()
    a.shutdown()
    with pytest.raises(omapi_errors.IllegalStateError):
        a.get_readers()
    assert isinstance(handset.se_service(JPKI_APP), SEService) and handset.se_service(JPKI_APP) is not a


# -- agent protocol ---------------------------------------------------------------------------------------


@pytest.fixture
def agent(handset: ReferenceHandset) -> Iterator[AgentServer]:
    server = serve(handset)
    yield server
    server.stop()


def _raw(sock: socket.socket, line: bytes) -> dict:  # type: ignore[type-arg]
    sock.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(65536)
        assert chunk, "the agent closed the connection"
        buf += chunk
    return json.loads(buf)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"\xff\xfe\n", protocol.PARSE_ERROR),
        (b"{}\n", protocol.INVALID_REQUEST),
        (b'{"v":2,"id":true,"method":"service.hello"}\n', protocol.INVALID_REQUEST),
        (b'{"v":2,"id":1,"method":"service.hello","params":[]}\n', protocol.INVALID_REQUEST),
        (b'{"v":3,"id":1,"method":"service.hello"}\n', protocol.UNSUPPORTED_VERSION),
        (
            b'{"v":2,"id":1,"method":"reader.open_session","params":{"reader":"eSE1"}}\n',
            protocol.INVALID_PARAMS,
        ),
        (
            b'{"v":2,"id":1,"method":"reader.open_session","params":{"reader":"eSE1","app":1}}\n',
            protocol.INVALID_PARAMS,
        ),
        (
            b'{"v":2,"id":1,"method":"session.open_logical_channel","params":{"session":"s9"}}\n',
            protocol.UNKNOWN_HANDLE,
        ),
        (
            b'{"v":2,"id":1,"method":"testbed.store_rules","params":{"rules":[{"aid":"zz"}]}}\n',
            protocol.INVALID_PARAMS,
        ),
        (b'{"v":1,"id":1,"method":"channel.is_open","params":{"channel":"c1"}}\n', protocol.UNKNOWN_METHOD),
        (b'{"v":2,"id":1,"method":"testbed.se_fault","params":{"fault":"bogus"}}\n', protocol.INVALID_PARAMS),
    ],
)
def test_agent_answers_bad_requests(agent: AgentServer, line: bytes, code: str) -> None:
    with socket.create_connection(agent.address, timeout=5) as sock:
        answer = _raw(sock, line)
        assert answer["error"]["code"] == code
        assert "result" in _raw(sock, b'{"v":2,"id":"again","method":"service.hello"}\n')


def test_agent_rejects_an_oversized_line_and_goes_on(agent: AgentServer) -> None:
    with socket.create_connection(agent.address, timeout=5) as sock:
        answer = _raw(sock, b"x" * (protocol.MAX_LINE + 10) + b"\n")
        assert answer["error"]["code"] == protocol.LINE_TOO_LONG
        assert "result" in _raw(sock, b'{"v":2,"id":2,"method":"service.hello"}\n')


def test_v1_answers_v2_only_exceptions_as_internal_error(agent: AgentServer) -> None:
    client = HandsetClient(*agent.address, version=1)
    session = client.open_session("eSE1", JPKI_APP.hashes)
    with pytest.raises(protocol.AgentProtocolError, match="internal_error"):
        session.open_logical_channel(JPKI, 0x01)
    client.close()


def test_client_maps_omapi_errors_and_closes_sessions_on_disconnect(
    agent: AgentServer, handset: ReferenceHandset
) -> None:
    client = HandsetClient(*agent.address)
    assert client.hello()["protocol"] == 2
    with pytest.raises(omapi_errors.SecurityError):
        client.open_session("eSE1", AppRef("other", OTHER_APP.hashes)).open_logical_channel(JPKI)
    channel = client.open_session(
        "eSE1", AppRef("jpki", JPKI_APP.hashes, JPKI_APP.package)
    ).open_logical_channel(JPKI)
    assert channel is not None and channel.select_response == b"\x90\x00"
    with pytest.raises(protocol.AgentProtocolError, match="unknown_method"):
        client.call("no.such")
    client.close()
    for _ in range(100):
        if not any(n for n in handset.terminal.channels):
            break
        time.sleep(0.01)
    assert not any(n for n in handset.terminal.channels), (
        "the agent kept the closed connection's channels open"
    )


def test_nfc_events_through_the_agent(agent: AgentServer) -> None:
    client = HandsetClient(*agent.address)
    jpki = AppRef("jpki", JPKI_APP.hashes, JPKI_APP.package)
    reader = AppRef("reader", READER_APP.hashes, READER_APP.package)
    for app in (jpki, reader):
        client.nfc_register(app, "eSE1", JPKI)
    assert client.open_session("eSE1", jpki).open_logical_channel(JPKI) is not None
    assert client.nfc_transaction("eSE1", JPKI, b"\x01") == ["jpki"]
    assert client.nfc_events(jpki) == [{"reader": "eSE1", "aid": JPKI.hex().upper(), "data": "01"}]
    assert client.nfc_events(reader) == []
    client.close()


def test_client_reports_an_unreachable_agent() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeviceUnreachable, match="adb forward"):
        HandsetClient("127.0.0.1", port, timeout=1)


def test_cts_applet_answers(handset: ReferenceHandset) -> None:
    channel = _session(handset).open_logical_channel(t.CTS_SELECTABLE)
    assert channel is not None
    assert len(channel.transmit(bytes.fromhex("94C27FFF00"))) == 0x7FFF + 2


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
        assert set(counts) <= {"passed", "skipped"} and counts["passed"] >= 60, counts
    finally:
        server.stop()
        handset.close()
