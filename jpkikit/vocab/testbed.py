"""The test-bed commands of the kit's own emulator and virtual reader (kit-defined; no implementation under
test is expected to have them).

They are honoured only when the kit itself launched the implementation (``testbed``: in-process, or
``jpkikit emulate --testbed`` behind vpcd), so that tests which need something a real setup does by hand
(holding the phone to a reader, switching the phone off, taking the card off the reader) run in CI in-process
and through pcscd alike. Each is ``80 FE 4A 4B Lc "jpkikit <verb>" [payload]``, the form of the emulator's
factory reset (jpkikit.reference.emulator.runtime.FACTORY_RESET). docs/spec/uicc.md#the-test-bed and
docs/spec/reader.md#the-reference-reader say what each stands for.
"""

from __future__ import annotations

from jpkikit.vocab.iso7816.apdu import CommandApdu

HEADER = bytes.fromhex("80FE4A4B")
PREFIX = b"jpkikit "

#: UICC: process the payload APDU on the contactless interface (the phone held to a reader's field).
CONTACTLESS = b"contactless"
#: UICC: the RF field goes away (the phone is taken off the reader): the contactless interface's channels end.
FIELD_OFF = b"field off"
#: UICC: the phone is switched off: the contact interface loses power; the NFC controller can still power
#: the UICC from a reader's field.
PHONE_OFF = b"phone off"
#: Virtual reader: the card leaves the field while the reader carries the next command, and comes back.
REMOVE_DURING_NEXT = b"remove during next"


def command(verb: bytes, payload: bytes = b"") -> bytes:
    data = PREFIX + verb + payload
    return CommandApdu(HEADER[0], HEADER[1], HEADER[2], HEADER[3], data).to_bytes()


def contactless(apdu: bytes) -> bytes:
    return command(CONTACTLESS + b":", apdu)


def parse(raw: bytes) -> tuple[bytes, bytes] | None:
    """(verb, payload) of a test-bed command, None for any other APDU."""
    if len(raw) < 6 or raw[:4] != HEADER or raw[4] != len(raw) - 5 or not raw[5:].startswith(PREFIX):
        return None
    body = raw[5 + len(PREFIX) :]
    if body.startswith(CONTACTLESS + b":"):
        return CONTACTLESS, body[len(CONTACTLESS) + 1 :]
    return body, b""
