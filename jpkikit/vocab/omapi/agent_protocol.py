"""The handset agent protocol (docs/handset-agent-protocol.md), versions 1 and 2: framing, methods, error
codes
and the mapping between OMAPI exceptions and error codes, shared by the agent (server) and the client.

Version 2 is version 1 plus: every call an app can make on ``android.se.omapi``, the error codes
``unsupported_operation`` and ``null_pointer``, NFC transaction events, app identities an agent can honour
(companion apps with their own signing certificates), and more test-bed methods. A v2 agent answers a v1
request as a v1 agent would (same method names, v1 error codes: an exception v1 has no code for is
``internal_error``)."""

from __future__ import annotations

import json
from typing import Any

from jpkikit.errors import KitError
from jpkikit.vocab.omapi import errors as omapi

VERSION = 2
VERSIONS = (1, 2)
MAX_LINE = 1 << 20  # bytes per message, newline included
DEFAULT_PORT = 47820

# Protocol errors: the request could not be processed as a call.
PARSE_ERROR = "parse_error"
INVALID_REQUEST = "invalid_request"
UNSUPPORTED_VERSION = "unsupported_version"
UNKNOWN_METHOD = "unknown_method"
INVALID_PARAMS = "invalid_params"
UNKNOWN_HANDLE = "unknown_handle"
LINE_TOO_LONG = "line_too_long"
UNSUPPORTED_IDENTITY = "unsupported_identity"
UNSUPPORTED = "unsupported"  # an optional method the agent does not offer, or not on this Android release
INTERNAL = "internal_error"
PROTOCOL_ERRORS = (
    PARSE_ERROR,
    INVALID_REQUEST,
    UNSUPPORTED_VERSION,
    UNKNOWN_METHOD,
    INVALID_PARAMS,
    UNKNOWN_HANDLE,
    LINE_TOO_LONG,
    UNSUPPORTED_IDENTITY,
    UNSUPPORTED,
    INTERNAL,
)

# OMAPI outcomes: the call was made and the OMAPI threw.
OMAPI_ERRORS: dict[str, type[omapi.OmapiError]] = {
    "security": omapi.SecurityError,
    "no_such_element": omapi.NoSuchElementError,
    "illegal_argument": omapi.IllegalArgumentError,
    "illegal_state": omapi.IllegalStateError,
    "io": omapi.OmapiIOError,
    "unsupported_operation": omapi.UnsupportedOperationError,  # v2
    "null_pointer": omapi.NullPointerError,  # v2
}
V1_OMAPI_ERRORS = ("security", "no_such_element", "illegal_argument", "illegal_state", "io")
CODE_OF = {cls: code for code, cls in OMAPI_ERRORS.items()}

# Methods (docs/handset-agent-protocol.md §3). The v1 set, then what v2 adds.
V1_METHODS = (
    "service.hello",
    "service.readers",
    "reader.open_session",
    "session.atr",
    "session.open_basic_channel",
    "session.open_logical_channel",
    "session.close_channels",
    "session.close",
    "channel.transmit",
    "channel.select_response",
    "channel.is_closed",
    "channel.close",
)
V2_METHODS = (
    "service.version",
    "service.is_connected",
    "service.uicc_reader",
    "service.shutdown",
    "reader.is_present",
    "reader.close_sessions",
    "reader.reset",
    "session.is_closed",
    "session.reader",
    "channel.select_next",
    "channel.is_basic",
    "channel.is_open",
    "channel.session",
    "nfc.register",
    "nfc.events",
)
#: Optional test-bed methods; an agent lists those it offers in service.hello ``capabilities``.
TESTBED_METHODS = (
    "testbed.store_rules",
    "testbed.se_trace",
    "testbed.clear_se_trace",
    "testbed.rule_sources",
    "testbed.se_fault",
    "testbed.reset_se",
    "testbed.nfc_transaction",
)
V1_TESTBED = ("testbed.store_rules", "testbed.se_trace", "testbed.clear_se_trace")


class AgentProtocolError(KitError):
    """The agent answered with a protocol error, or its answer breaks the protocol."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"handset agent: {code}: {message}")


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def error(
    rid: Any, code: str, message: str, exception: str | None = None, v: int = VERSION
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if exception:
        body["exception"] = exception
    return {"v": v, "id": rid, "error": body}


def result(rid: Any, value: dict[str, Any], v: int = VERSION) -> dict[str, Any]:
    return {"v": v, "id": rid, "result": value}
