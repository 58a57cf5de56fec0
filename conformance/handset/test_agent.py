"""The handset agent's handling of malformed messages (docs/handset-agent-protocol.md §1, §4)."""

from __future__ import annotations

import pytest

from jpkikit.errors import TransportError
from jpkikit.vocab.omapi import agent_protocol as protocol

from .support import HandsetUnderTest


def _code(answer: dict) -> str | None:
    error = answer.get("error")
    return error.get("code") if isinstance(error, dict) else None


@pytest.mark.requirement("HS-AGENT-01")
def test_malformed_messages_get_protocol_errors(handset: HandsetUnderTest) -> None:
    client = handset.client
    cases = [
        (b"this is not json", protocol.PARSE_ERROR),
        (b"[1, 2]", protocol.INVALID_REQUEST),
        (b'{"v": 99, "id": 1, "method": "service.hello"}', protocol.UNSUPPORTED_VERSION),
        (b'{"v": 1, "id": 2, "method": "no.such.method"}', protocol.UNKNOWN_METHOD),
        (
            b'{"v": 1, "id": 3, "method": "channel.transmit", "params": {"channel": "nope", "apdu": "00"}}',
            protocol.UNKNOWN_HANDLE,
        ),
    ]
    for line, expected in cases:
        try:
            answer = client.send_raw(line)
        except TransportError as exc:  # the agent under test dropped the line: a fault of the agent
            pytest.fail(f"{line!r}: the agent closed the connection instead of answering {expected} ({exc})")
        assert _code(answer) == expected, f"{line!r} was answered {answer}, expected error {expected}"
    assert client.hello()["protocol"] == protocol.VERSION, "the connection did not survive bad messages"
