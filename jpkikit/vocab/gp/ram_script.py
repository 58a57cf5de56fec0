"""GP Remote Application Management over HTTP (GPCS Amendment B) as the kit implements it
(docs/tsm-protocol.md): content types, X-Admin-* headers, and the script encodings.

A command script is the expanded format of ETSI TS 102 226 §5.2 that Amendment B carries: a definite-length
Command Scripting template ``AA`` holding one C-APDU TLV ``22`` per command. The agent answers with a
Response Scripting template ``AB`` holding ``80`` (number of commands executed, 1 byte) and one R-APDU TLV
``23`` per executed command. The agent stops at the first R-APDU whose SW is an error (not 9000, 61xx, 62xx,
63xx); the TSM sees where from the count.
"""

from __future__ import annotations

from jpkikit.errors import ApduError, KitError, TlvError
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode

PROTOCOL = "globalplatform-remote-admin/1.0"
CONTENT_TYPE_SCRIPT = "application/vnd.globalplatform.card-content-mgt;version=1.0"
CONTENT_TYPE_RESPONSE = "application/vnd.globalplatform.card-content-mgt-response;version=1.0"
# Request headers of the agent (Amd B §3.3): protocol, the agent's identity, the status of the last script,
# and the resumption of an interrupted session: the agent posts its last request to the last URI again with
# X-Admin-Resume: true, and the server continues the dialogue or starts it again.
H_PROTOCOL, H_FROM, H_SCRIPT_STATUS = "X-Admin-Protocol", "X-Admin-From", "X-Admin-Script-Status"
H_RESUME = "X-Admin-Resume"
# Response headers of the server: the URI of the next POST, the application the script targets.
H_NEXT_URI, H_TARGET = "X-Admin-Next-URI", "X-Admin-Targeted-Application"
SCRIPT_STATUS = ("ok", "unknown-application", "not-a-security-domain", "security-error")

TAG_COMMAND_SCRIPT, TAG_C_APDU = 0xAA, 0x22
TAG_RESPONSE_SCRIPT, TAG_COUNT, TAG_R_APDU = 0xAB, 0x80, 0x23


class ScriptError(KitError):
    """A script or response script that does not follow the encoding."""


def is_error(sw: int) -> bool:
    return sw != 0x9000 and sw >> 8 not in (0x61, 0x62, 0x63)


def encode_commands(commands: list[CommandApdu]) -> bytes:
    body = b"".join(Tlv(TAG_C_APDU, c.to_bytes()).encode() for c in commands)
    return Tlv(TAG_COMMAND_SCRIPT, body).encode()


def decode_commands(data: bytes) -> list[bytes]:
    """The raw C-APDUs of a command script (raw, so a malformed APDU still reaches the SE as sent)."""
    try:
        (outer,) = decode(data)
        if outer.tag != TAG_COMMAND_SCRIPT:
            raise ScriptError(f"command script tag {outer.tag:X}, AA expected")
        items = decode(outer.value)
    except (TlvError, ValueError) as exc:
        raise ScriptError(f"command script does not parse: {exc}") from None
    if any(t.tag != TAG_C_APDU for t in items):
        raise ScriptError("command script holds a TLV other than C-APDU (22)")
    return [t.value for t in items]


def encode_responses(responses: list[bytes]) -> bytes:
    body = Tlv(TAG_COUNT, bytes((len(responses),))).encode()
    body += b"".join(Tlv(TAG_R_APDU, r).encode() for r in responses)
    return Tlv(TAG_RESPONSE_SCRIPT, body).encode()


def decode_responses(data: bytes) -> list[ResponseApdu]:
    try:
        (outer,) = decode(data)
        if outer.tag != TAG_RESPONSE_SCRIPT:
            raise ScriptError(f"response script tag {outer.tag:X}, AB expected")
        items = decode(outer.value)
        count = next(t.value for t in items if t.tag == TAG_COUNT)
        responses = [ResponseApdu.parse(t.value) for t in items if t.tag == TAG_R_APDU]
    except (TlvError, ValueError, StopIteration, ApduError) as exc:
        raise ScriptError(f"response script does not parse: {exc}") from None
    if len(count) != 1 or count[0] != len(responses):
        raise ScriptError(f"response script counts {count.hex()} but holds {len(responses)} R-APDUs")
    return responses
