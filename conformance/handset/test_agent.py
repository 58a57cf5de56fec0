"""The handset agent's own conformance (docs/handset-agent-protocol.md): malformed messages, version 1 next to
version 2, the error code and Java class of every OMAPI exception, and a closed connection ending its
sessions."""

from __future__ import annotations

import json

import pytest

from jpkikit.errors import TransportError
from jpkikit.host.handset_client import HandsetClient
from jpkikit.vocab.omapi import agent_protocol as protocol
from jpkikit.vocab.omapi import test_applets as t

from .support import HandsetUnderTest


def _code(answer: dict) -> str | None:  # type: ignore[type-arg]
    error = answer.get("error")
    return error.get("code") if isinstance(error, dict) else None


def _request(client: HandsetClient, v: int, method: str, **params: object) -> dict:  # type: ignore[type-arg]
    return client.send_raw(
        json.dumps({"v": v, "id": f"r{method}", "method": method, "params": params}).encode()
    )


@pytest.mark.requirement("HS-AGENT-01")
def test_malformed_messages_get_protocol_errors(handset: HandsetUnderTest) -> None:
    client = handset.client
    cases = [
        (b"this is not json", protocol.PARSE_ERROR),
        (b"[1, 2]", protocol.INVALID_REQUEST),
        (b'{"v": 99, "id": 1, "method": "service.hello"}', protocol.UNSUPPORTED_VERSION),
        (b'{"v": 2, "id": 2, "method": "no.such.method"}', protocol.UNKNOWN_METHOD),
        (
            b'{"v": 2, "id": 3, "method": "channel.transmit", "params": {"channel": "nope", "apdu": "00"}}',
            protocol.UNKNOWN_HANDLE,
        ),
        (
            b'{"v": 2, "id": 4, "method": "session.open_logical_channel", "params": {"session": 5}}',
            protocol.INVALID_PARAMS,
        ),
    ]
    for line, expected in cases:
        try:
            answer = client.send_raw(line)
        except TransportError as exc:  # the agent under test dropped the line: a fault of the agent
            pytest.fail(f"{line!r}: the agent closed the connection instead of answering {expected} ({exc})")
        assert _code(answer) == expected, f"{line!r} was answered {answer}, expected error {expected}"
    assert client.hello()["protocol"] in protocol.VERSIONS, "the connection did not survive bad messages"


@pytest.mark.requirement("HS-AGENT-02")
def test_version_1_next_to_version_2(handset: HandsetUnderTest) -> None:
    client = handset.client
    v2 = _request(client, 2, "service.hello")
    assert v2.get("v") == 2 and v2["result"].get("protocol") == 2, f"a v2 hello was answered {v2}"
    v1 = _request(client, 1, "service.hello")
    assert v1.get("v") == 1 and v1.get("result", {}).get("protocol") == 1, f"a v1 hello was answered {v1}"
    only_v2 = _request(client, 1, "channel.is_open", channel="c0")
    assert _code(only_v2) == protocol.UNKNOWN_METHOD and only_v2.get("v") == 1, (
        f"a v2 method in a v1 request was answered {only_v2}"
    )
    app = handset.allowed.wire(1)
    session = _request(client, 1, "reader.open_session", reader=handset.reader, app=app)
    assert session.get("v") == 1 and "session" in session.get("result", {}), f"a v1 open_session: {session}"


@pytest.mark.requirement("HS-AGENT-03")
def test_every_exception_has_its_code(handset: HandsetUnderTest) -> None:
    client = handset.client
    session = client.open_session(handset.reader, handset.allowed)
    denied = client.open_session(handset.reader, handset.denied)
    cases = [
        ("security", "java.lang.SecurityException", "session.open_logical_channel",
         {"session": denied.handle, "aid": handset.jpki.hex()}),
        ("illegal_argument", "java.lang.IllegalArgumentException", "session.open_logical_channel",
         {"session": session.handle, "aid": "A00001"}),
        ("unsupported_operation", "java.lang.UnsupportedOperationException", "session.open_logical_channel",
         {"session": session.handle, "aid": handset.jpki.hex(), "p2": 1}),
    ]  # fmt: skip
    channel = session.open_logical_channel(handset.jpki)
    assert channel is not None
    cases.append(("null_pointer", "java.lang.NullPointerException", "channel.transmit",
                  {"channel": channel.handle, "apdu": None}))  # fmt: skip
    with_all = client.open_session(handset.reader, handset.allowed)
    cases.append(("no_such_element", "java.util.NoSuchElementException", "session.open_logical_channel",
                  {"session": with_all.handle, "aid": t.CTS_NON_SELECTABLE.hex()}))  # fmt: skip
    closed = client.open_session(handset.reader, handset.allowed)
    closed.close()
    cases.append(("illegal_state", "java.lang.IllegalStateException", "session.open_logical_channel",
                  {"session": closed.handle, "aid": handset.jpki.hex()}))  # fmt: skip
    for code, java, method, params in cases:
        answer = _request(client, 2, method, **params)
        error = answer.get("error") or {}
        assert error.get("code") == code, f"{method} {params} was answered {answer}, expected error {code}"
        assert error.get("exception") == java, (
            f"error {code} names exception {error.get('exception')!r}, not {java}"
        )


@pytest.mark.requirement("HS-AGENT-04")
def test_closed_connection_ends_its_sessions(handset: HandsetUnderTest) -> None:
    host, port = handset.client.address
    first = HandsetClient(host, port)
    try:
        session = first.open_session(handset.reader, handset.allowed)
        channels = [session.open_logical_channel(handset.jpki) for _ in range(handset.n - 1)]
        assert all(c is not None for c in channels), f"could not open {handset.n - 1} logical channels"
    finally:
        first.close()
    import time

    for _ in range(50):
        session = handset.client.open_session(handset.reader, handset.allowed)
        channel = session.open_logical_channel(handset.jpki)
        if channel is not None:
            return
        session.close()
        time.sleep(0.05)
    pytest.fail("the channels of a closed agent connection were never freed")
