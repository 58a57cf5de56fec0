"""T=0 style status-word handling: 61xx (GET RESPONSE) and 6Cxx (wrong Le) made transparent.

ISO/IEC 7816-3 §12.2 (transport of APDUs by T=0) and the 7816-4 GET RESPONSE command. A card on T=0
(and some on T=1, or behind readers that pass these SWs through) answers:

* ``61xx`` — the command completed, ``xx`` more response bytes are waiting (``00`` = 256 or more):
  the host fetches them with GET RESPONSE ``CLA C0 00 00 xx`` until a final SW arrives.
* ``6Cxx`` — wrong Le; the exact length is ``xx`` (``00`` = 256): the host re-issues the same command
  with ``Le = xx``.

This layer works on raw bytes and parses only what it needs of the short APDU cases (7816-4), so it
does not depend on the APDU module. Extended-length commands are passed through untouched on 6Cxx (the
procedure is defined for short Le only).
"""

from __future__ import annotations

from jpkikit.errors import TransportError
from jpkikit.host.link import Layer, Transport

INS_GET_RESPONSE = 0xC0
SW1_MORE_DATA = 0x61
SW1_WRONG_LE = 0x6C

#: Default upper bound on GET RESPONSE commands per command (64 × 256 bytes = 16 KiB).
MAX_GET_RESPONSE = 64


def get_response_cla(cla: int) -> int:
    """The CLA for a GET RESPONSE that follows a command sent with ``cla``.

    GET RESPONSE is an interindustry command and is never itself chained or secured, so only the
    logical channel is carried over (7816-4 CLA coding; GP CLA ``8x``/``Cx``/``Ex`` put the channel in
    the same bits, GPCS §11.1.4):

    * first interindustry layout (b7 = 0: ``0x``–``3x``, ``8x``–``Bx``): channels 0–3 in b2–b1 → ``0x``;
    * further interindustry layout (b7 = 1: ``4x``–``7x``, ``Cx``–``Fx``): channels 4–19 in b4–b1 → ``4x``.
    """
    if cla & 0x40:
        return 0x40 | (cla & 0x0F)
    return cla & 0x03


def with_short_le(command: bytes, le: int) -> bytes | None:
    """``command`` re-encoded with the short Le byte ``le`` (0–255, 0 meaning 256), or None.

    Short APDU cases (7816-4): case 1 ``CLA INS P1 P2`` and case 3 ``... Lc data`` get Le appended;
    case 2 ``... Le`` and case 4 ``... Lc data Le`` get their last byte replaced. Returns None for
    extended-length or malformed commands, which this layer does not rewrite.
    """
    n = len(command)
    if n < 4:
        return None
    if n == 4:  # case 1
        return command + bytes([le])
    if n == 5:  # case 2S
        return command[:4] + bytes([le])
    lc = command[4]
    if lc == 0:  # extended length: B1 = 00 with more bytes following
        return None
    if n == 5 + lc:  # case 3S
        return command + bytes([le])
    if n == 6 + lc:  # case 4S
        return command[:-1] + bytes([le])
    return None


def _check(response: bytes) -> bytes:
    if len(response) < 2:
        raise TransportError(f"response APDU too short ({len(response)} bytes): {response.hex().upper()}")
    return response


class GetResponseLayer(Layer):
    """Answers 61xx with GET RESPONSE and 6Cxx with a re-issue, so the layers above see one response.

    Loops are bounded: at most ``max_get_response`` GET RESPONSEs per command and one 6Cxx re-issue per
    command (or per GET RESPONSE); a device that keeps looping raises TransportError.
    """

    def __init__(self, inner: Transport, max_get_response: int = MAX_GET_RESPONSE) -> None:
        super().__init__(inner)
        if max_get_response < 1:
            raise ValueError("max_get_response must be at least 1")
        self.max_get_response = max_get_response

    def transmit(self, command: bytes) -> bytes:
        response = self._send_fixing_le(command)
        if response[-2] != SW1_MORE_DATA:
            return response
        return self._collect(command, response)

    def _send_fixing_le(self, command: bytes) -> bytes:
        """Send ``command``; on 6Cxx re-issue it once with Le = xx (7816-3 §12.2)."""
        response = _check(self.inner.transmit(command))
        if response[-2] != SW1_WRONG_LE:
            return response
        retry = with_short_le(command, response[-1])
        if retry is None:
            return response  # extended or malformed: no short Le to fix, pass the SW up unchanged
        response = _check(self.inner.transmit(retry))
        if response[-2] == SW1_WRONG_LE:
            raise TransportError(
                f"device answered {response[-2:].hex().upper()} again after the command was re-issued "
                f"with Le={retry[-1]:02X} (ISO 7816-3 §12.2 expects one re-issue): {retry.hex().upper()}"
            )
        return response

    def _collect(self, command: bytes, response: bytes) -> bytes:
        """Fetch the rest of a 61xx response with GET RESPONSE (7816-3 §12.2, 7816-4 GET RESPONSE)."""
        data = bytearray(response[:-2])
        cla = get_response_cla(command[0]) if command else 0x00
        for _ in range(self.max_get_response):
            get_response = bytes([cla, INS_GET_RESPONSE, 0x00, 0x00, response[-1]])
            response = self._send_fixing_le(get_response)
            data += response[:-2]
            if response[-2] != SW1_MORE_DATA:
                return bytes(data) + response[-2:]
        raise TransportError(
            f"device still answered 61xx after {self.max_get_response} GET RESPONSE commands "
            f"({len(data)} bytes collected) for command {command[:4].hex().upper()}…; giving up"
        )
