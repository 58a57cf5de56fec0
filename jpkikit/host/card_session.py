"""What a conformance test talks to: a card session over a transport chain, with APDU helpers.

The chain is built as design.md describes: GET RESPONSE handling -> (SCP03, when a test opens it) ->
tracer -> link. Tests send :class:`CommandApdu` objects and get :class:`ResponseApdu` objects back.
"""

from __future__ import annotations

from jpkikit.errors import ApduError
from jpkikit.host.collector import GetResponseLayer
from jpkikit.host.link import Transport
from jpkikit.host.tracer import Tracer
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_with_channel


class CardSession:
    def __init__(self, link: Transport) -> None:
        self.tracer = Tracer(link)
        self.transport: Transport = GetResponseLayer(self.tracer)

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
        """SELECT by DF name, the way JPKI clients do it: P1=04, P2=0C (jpki-ap.md §1)."""
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
