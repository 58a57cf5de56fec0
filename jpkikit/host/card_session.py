"""What a conformance test talks to: a card session over a transport chain, with APDU helpers, and the
kit's one 61xx / 6Cxx collector (:func:`exchange`), used by every path: this session, the SCP03 layer and
the TSM admin agent.

The chain: GET RESPONSE handling -> (SCP03, when a test opens it) -> tracer -> link. Tests send
:class:`CommandApdu` objects and get :class:`ResponseApdu` objects back.
"""

from __future__ import annotations

from collections.abc import Callable

from jpkikit.errors import ApduError, MalformedResponse
from jpkikit.host.link import Layer, Transport
from jpkikit.host.tracer import Tracer
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_with_channel
from jpkikit.vocab.iso7816.ins import Ins

# -- the one 61xx / 6Cxx collector ---------------------------------------------------------------------
# T=0 style status-word handling: 61xx (GET RESPONSE) and 6Cxx (wrong Le) made transparent.
#
# ISO/IEC 7816-3 §12.2 (transport of APDUs by T=0) and the 7816-4 GET RESPONSE command. A card on T=0
# (and some on T=1, or behind readers that pass these SWs through) answers:
#
# * ``61xx`` — the command completed, ``xx`` more response bytes are waiting (``00`` = 256 or more):
#   the host fetches them with GET RESPONSE ``CLA C0 00 00 xx`` until a final SW arrives.
# * ``6Cxx`` — wrong Le; the exact length is ``xx`` (``00`` = 256): the host re-issues the same command
#   with ``Le = xx``.
#
# The collector works on raw bytes and parses only what it needs of the short APDU cases (7816-4).
# Extended-length commands are passed through untouched on 6Cxx (the
# procedure is defined for short Le only).

INS_GET_RESPONSE = Ins.GET_RESPONSE
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
    if len(response) < 2:  # the device answered, with something that is not a response APDU
        raise MalformedResponse(f"response APDU too short ({len(response)} bytes): {response.hex().upper()}")
    return response


Send = Callable[[bytes], bytes]


def exchange(
    send: Send, command: bytes, *, fix_le: bool = True, max_get_response: int = MAX_GET_RESPONSE
) -> bytes:
    """Send ``command`` with ``send`` and return one complete response: 6Cxx answered by one re-issue with
    Le = xx (when ``fix_le``), 61xx by GET RESPONSE until a final SW (ISO/IEC 7816-3 §12.2, 7816-4 GET
    RESPONSE). The one collector of the kit: the plain session, the SCP03 layer (whose R-MAC covers the
    whole response, GPCS v2.3.1 §11.1.5.2, so it collects before unwrapping) and the TSM admin agent.

    Bounded: at most ``max_get_response`` GET RESPONSEs and one re-issue per command; a device that keeps
    looping breaks ISO/IEC 7816-3 §12.2 and raises MalformedResponse (a fault of the device).
    """
    response = _send_fixing_le(send, command) if fix_le else _check(send(command))
    if response[-2] != SW1_MORE_DATA:
        return response
    data = bytearray(response[:-2])
    cla = get_response_cla(command[0]) if command else 0x00
    for _ in range(max_get_response):
        get_response = bytes([cla, INS_GET_RESPONSE, 0x00, 0x00, response[-1]])
        response = _send_fixing_le(send, get_response) if fix_le else _check(send(get_response))
        data += response[:-2]
        if response[-2] != SW1_MORE_DATA:
            return bytes(data) + response[-2:]
    raise MalformedResponse(  # the device breaks ISO/IEC 7816-3 §12.2: a fault, not a broken link
        f"device still answered 61xx after {max_get_response} GET RESPONSE commands "
        f"({len(data)} bytes collected) for command {command[:4].hex().upper()}…; giving up"
    )


def _send_fixing_le(send: Send, command: bytes) -> bytes:
    """Send ``command``; on 6Cxx re-issue it once with Le = xx (7816-3 §12.2)."""
    response = _check(send(command))
    if response[-2] != SW1_WRONG_LE:
        return response
    retry = with_short_le(command, response[-1])
    if retry is None:
        return response  # extended or malformed: no short Le to fix, pass the SW up unchanged
    response = _check(send(retry))
    if response[-2] == SW1_WRONG_LE:
        raise MalformedResponse(
            f"device answered {response[-2:].hex().upper()} again after the command was re-issued "
            f"with Le={retry[-1]:02X} (ISO 7816-3 §12.2 expects one re-issue): {retry.hex().upper()}"
        )
    return response


class GetResponseLayer(Layer):
    """A transport layer that runs every command through :func:`exchange`, so the layers above see one
    response per command."""

    def __init__(self, inner: Transport, max_get_response: int = MAX_GET_RESPONSE) -> None:
        super().__init__(inner)
        if max_get_response < 1:
            raise ValueError("max_get_response must be at least 1")
        self.max_get_response = max_get_response

    def transmit(self, command: bytes) -> bytes:
        return exchange(self.inner.transmit, command, max_get_response=self.max_get_response)


class CardSession:
    def __init__(self, link: Transport, *, collect: bool = True, tracer: Tracer | None = None) -> None:
        self.tracer = tracer if tracer is not None else Tracer(link)
        self.transport: Transport = GetResponseLayer(self.tracer) if collect else self.tracer

    def raw(self) -> CardSession:
        """This session with the GET RESPONSE layer off: 61xx and 6Cxx reach the caller exactly as the link
        gives them (the reader/writer tests check what the reader itself does with them). Shares this
        session's tracer and link; close the original, not the raw view."""
        return CardSession(self.tracer.inner, collect=False, tracer=self.tracer)

    @property
    def atr(self) -> bytes:
        return self.transport.atr

    def reset(self, cold: bool = False) -> bytes:
        return self.transport.reset(cold)

    def transmit(self, apdu: CommandApdu | bytes) -> ResponseApdu:
        """Send a command (an APDU object, or raw bytes for deliberately malformed ones)."""
        raw = apdu.to_bytes() if isinstance(apdu, CommandApdu) else bytes(apdu)
        return ResponseApdu.parse(self.transport.transmit(raw))

    def send(
        self,
        cla: int,
        ins: int,
        p1: int = 0,
        p2: int = 0,
        data: bytes = b"",
        ne: int | None = None,
        channel: int = 0,
        extended: bool | None = None,
    ) -> ResponseApdu:
        if channel:
            cla = cla_with_channel(cla, channel)
        return self.transmit(CommandApdu(cla, ins, p1, p2, data, ne, extended))

    def select(self, aid: bytes, channel: int = 0, p2: int = 0x0C) -> ResponseApdu:
        """SELECT by DF name, the way JPKI clients do it: P1=04, P2=0C
        (docs/spec/jpki-applet.md#applications-and-aids)."""
        return self.send(0x00, 0xA4, 0x04, p2, aid, None if p2 == 0x0C else 256, channel)

    def open_channel(self, from_channel: int = 0) -> ResponseApdu:
        """MANAGE CHANNEL open, card assigns the number (ISO 7816-4 §11.1.2)."""
        return self.send(0x00, 0x70, 0x00, 0x00, ne=1, channel=from_channel)

    def close_channel(self, number: int, from_channel: int = 0) -> ResponseApdu:
        return self.send(0x00, 0x70, 0x80, number, channel=from_channel)

    def read_binary(self, offset: int, ne: int, channel: int = 0) -> ResponseApdu:
        if not 0 <= offset <= 0x7FFF:
            raise ApduError(f"READ BINARY offset must be 0..7FFF, got {offset:X}")
        return self.send(0x00, 0xB0, offset >> 8, offset & 0xFF, ne=ne, channel=channel)

    def close(self) -> None:
        self.transport.close()
