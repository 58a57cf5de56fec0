"""A small personalisable application for card content management tests: it keeps what STORE DATA sends
(GPCS §11.11, BER-TLV structure) and returns it with GET DATA by tag."""

from __future__ import annotations

from typing import Any

from jpkikit.errors import TlvError
from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import decode


class GpTestApplet(Applet):
    type_name = "gp-test"

    def initial_data(self) -> dict[str, Any]:
        return {"store": {}}

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla & 0x80 and apdu.ins == 0xE2:
            try:
                items = decode(apdu.data)
            except TlvError:
                return reply(SW.WRONG_DATA)
            for item in items:
                self.data["store"][f"{item.tag:X}"] = item.encode().hex()
            return reply()
        if apdu.ins == 0xCA:
            value = self.data["store"].get(f"{(apdu.p1 << 8 | apdu.p2) & 0xFFFF:X}".lstrip("0") or "0")
            if value is None:
                return reply(SW.REFERENCED_DATA_NOT_FOUND)
            return reply(SW.OK, bytes.fromhex(value))
        return reply(SW.INS_NOT_SUPPORTED)
