"""The handset agent protocol, version 1 (docs/handset-agent-protocol.md): framing, error codes and the
mapping between OMAPI exceptions and error codes, shared by the agent (server) and the client."""

from __future__ import annotations

import json
from typing import Any

from jpkikit.errors import KitError
from jpkikit.vocab.omapi import errors as omapi

VERSION = 1
MAX_LINE = 1 << 20  # bytes per message, newline included

# Protocol errors: the request could not be processed as a call.
PARSE_ERROR = "parse_error"
INVALID_REQUEST = "invalid_request"
UNSUPPORTED_VERSION = "unsupported_version"
UNKNOWN_METHOD = "unknown_method"
INVALID_PARAMS = "invalid_params"
UNKNOWN_HANDLE = "unknown_handle"
LINE_TOO_LONG = "line_too_long"
UNSUPPORTED_IDENTITY = "unsupported_identity"
UNSUPPORTED = "unsupported"  # an optional (test-bed) method the agent does not offer
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
}
CODE_OF = {cls: code for code, cls in OMAPI_ERRORS.items()}


class AgentProtocolError(KitError):
    """The agent answered with a protocol error, or its answer breaks the protocol."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"handset agent: {code}: {message}")


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def error(rid: Any, code: str, message: str, exception: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if exception:
        body["exception"] = exception
    return {"v": VERSION, "id": rid, "error": body}


def result(rid: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {"v": VERSION, "id": rid, "result": value}
