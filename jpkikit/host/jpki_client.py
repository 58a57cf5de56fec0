"""The JPKI application seen from the host: the command sequences clients send (docs/spec/jpki-applet.md;
order of operations as OpenSC card-jpki.c sends it: SELECT AP -> SELECT PIN EF -> VERIFY -> SELECT key EF
-> 80 2A 00 80). The facts (EF map, limits) are in :mod:`jpkikit.vocab.jpki.card`. PIN values pass
through here to the card only; nothing here logs. Quoted headings below are sections of that page.
"""

from __future__ import annotations

from typing import Protocol

from jpkikit.secrets import Secret, reveal_bytes
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_with_channel
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import EF_TOKEN_INFO, LABEL_LENGTH, MAX_OFFSET


class Session(Protocol):
    def transmit(self, apdu: CommandApdu | bytes) -> ResponseApdu: ...


class JpkiClient:
    """Command helpers on one logical channel of a card session
    (``jpkikit.host.card_session.CardSession``)."""

    def __init__(self, session: Session, aid: bytes, channel: int = 0) -> None:
        self.session = session
        self.aid = bytes(aid)
        self.channel = channel

    def send(
        self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", ne: int | None = None
    ) -> ResponseApdu:
        if self.channel:
            cla = cla_with_channel(cla, self.channel)
        return self.session.transmit(CommandApdu(cla, ins, p1, p2, data, ne))

    def select_ap(self) -> ResponseApdu:
        """00 A4 04 0C Lc AID ("Applications and AIDs"). Re-selecting is also how clients log out ("What
        OpenSC expects")."""
        return self.send(0x00, 0xA4, 0x04, 0x0C, self.aid)

    def select_ef(self, fid: int) -> ResponseApdu:
        """00 A4 02 0C 02 FID ("Commands")."""
        return self.send(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))

    def read(self, offset: int, ne: int = 256) -> ResponseApdu:
        """READ BINARY of the current EF at a 15-bit offset ("Reading a file")."""
        return self.send(0x00, 0xB0, (offset >> 8) & 0x7F, offset & 0xFF, ne=ne)

    def read_ef(self, fid: int, chunk: int = 0xFF) -> tuple[bytes, ResponseApdu]:
        """All of EF ``fid``: SELECT, then READ BINARY chunks until 6B00 or a short chunk ("Reading a file").

        Returns the bytes read and the last response (for a caller that wants to see an error SW). Raises
        AssertionError when the card never reports the end within the 15-bit offset range (a broken card).
        """
        r = self.select_ef(fid)
        if not r.ok:
            return b"", r
        out = b""
        while True:
            if len(out) > MAX_OFFSET:
                raise AssertionError(
                    f"EF {fid:04X}: READ BINARY did not reach the end within {MAX_OFFSET + 1} bytes"
                )
            r = self.read(len(out), chunk)
            if r.sw == SW.WRONG_P1P2 and out:  # 6B00 right at the end: the whole EF has been read
                return out, ResponseApdu(b"", SW.OK)
            if not r.ok:
                return out, r
            out += r.data
            if len(r.data) < chunk or not r.data:
                return out, r

    def read_der(self, fid: int) -> tuple[bytes, ResponseApdu]:
        """A DER object at the start of EF ``fid``, read the way OpenSC does: 4 header bytes, then the
        encoded length ("Reading a file", ``30 82 LL LL``). Returns (object, last response)."""
        r = self.select_ef(fid)
        if not r.ok:
            return b"", r
        head = self.read(0, 4)
        if not head.ok or len(head.data) != 4:
            return head.data, head
        total = ((head.data[2] << 8) | head.data[3]) + 4
        out = head.data
        while len(out) < total:
            r = self.read(len(out), min(0xFF, total - len(out)))
            if not r.ok or not r.data:
                return out, r
            out += r.data
        return out, ResponseApdu(b"", SW.OK)

    def retry_query(self, pin_ef: int) -> ResponseApdu:
        """SELECT the PIN EF, then VERIFY with no data and no Le (case 1, "Commands"): 63Cx, spends
        nothing."""
        r = self.select_ef(pin_ef)
        return r if not r.ok else self.send(0x00, 0x20, 0x00, 0x80)

    def verify(self, pin_ef: int, pin: Secret | str | bytes) -> ResponseApdu:
        """SELECT the PIN EF, then VERIFY 00 20 00 80 Lc <PIN as ASCII>. ``pin`` may be any bytes; a Secret is
        unwrapped only into the APDU."""
        r = self.select_ef(pin_ef)
        return r if not r.ok else self.send(0x00, 0x20, 0x00, 0x80, reveal_bytes(pin))

    def change(self, pin_ef: int, new: Secret | str | bytes) -> ResponseApdu:
        """SELECT the PIN EF, then CHANGE REFERENCE DATA 00 24 01 80 Lc <new>."""
        r = self.select_ef(pin_ef)
        return r if not r.ok else self.send(0x00, 0x24, 0x01, 0x80, reveal_bytes(new))

    def sign(self, key_ef: int, data: bytes, ne: int = 256) -> ResponseApdu:
        """SELECT the key EF, then COMPUTE DIGITAL SIGNATURE 80 2A 00 80 Lc <data> Le ("Commands",
        "Signing")."""
        r = self.select_ef(key_ef)
        return r if not r.ok else self.send(0x80, 0x2A, 0x00, 0x80, bytes(data), ne)

    def token_label(self) -> tuple[str | None, ResponseApdu]:
        """The label in EF 0006, trailing spaces and NULs stripped ("Token information (EF 0006)"); None if
        it cannot be read."""
        r = self.select_ef(EF_TOKEN_INFO)
        if r.ok:
            r = self.read(0, LABEL_LENGTH)
        if not r.ok:
            return None, r
        return r.data.rstrip(b" \x00").decode("ascii", "replace"), r
