"""The OMAPI test applets of the handset's SE (jpkikit.vocab.omapi.test_applets): the CTS OMAPI test applet
(type ``cts-omapi``) and the kit's own test applets (``kit-select-sw``, ``kit-single``, ``kit-echo-cla``).

The CTS applet answers as CTS OmapiTest expects (its command set is restated in the vocabulary module): data
of 256 bytes for INS 08/0C, warnings for INS F3, long responses through 61xx for INS C2-C8, 6CFF then a long
response for INS CF, the SELECT's P2 for INS F4. It builds 61xx chains itself and serves GET RESPONSE under a
proprietary CLA too (the runtime only takes interindustry GET RESPONSE).
"""

from __future__ import annotations

from typing import Any

from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.omapi import test_applets as t

P2_KEY = "cts.select_p2"


PENDING_KEY = "cts.pending"


def _chain(ctx: Context, apdu: CommandApdu, data: bytes, first: int) -> ResponseApdu:
    """The first ``first`` bytes of ``data`` now, the rest behind 61xx for GET RESPONSE (ISO 7816-4 §5.3.4):
    kept by the runtime for an interindustry CLA, by the applet for a proprietary one (the runtime hands a
    proprietary GET RESPONSE to the applet and clears its own buffer first)."""
    head, rest = data[:first], data[first:]
    if not rest:
        return reply(SW.OK, head)
    if apdu.cla & 0x80:
        ctx.session[PENDING_KEY] = rest + b"\x90\x00"
    else:
        ctx.card.channels[ctx.channel].pending = rest + b"\x90\x00"
    return ResponseApdu(head, 0x6100 | (min(len(rest), 256) & 0xFF))


class CtsOmapiApplet(Applet):
    type_name = "cts-omapi"
    multiselectable = True

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        ctx.session[P2_KEY] = apdu.p2
        if self.aid == t.CTS_LONG_SELECT:
            return reply(SW.OK, t.long_select_response())
        return reply()

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        ins, le = apdu.ins, apdu.ne or 256
        if ins in (t.INS_NO_DATA_1, t.INS_NO_DATA_2):
            return reply()
        if ins in (t.INS_DATA_1, t.INS_DATA_2):
            return reply(SW.OK, t.pattern(256))
        if ins == t.INS_SW_62XX:
            return self._warning(apdu)
        if ins in (t.INS_SEGMENTED_1, t.INS_SEGMENTED_2, t.INS_SEGMENTED_3, t.INS_SEGMENTED_4):
            return _chain(ctx, apdu, t.pattern(apdu.p1 << 8 | apdu.p2), min(le, 256))
        if ins == t.INS_SEGMENTED_6C:
            if le != 0xFF:
                return reply(0x6CFF)
            return _chain(ctx, apdu, t.pattern(apdu.p1 << 8 | apdu.p2), 0xFF)
        if ins == t.INS_CHECK_P2:
            return reply(SW.OK, bytes((ctx.session.get(P2_KEY, 0),)))
        if ins == Ins.GET_RESPONSE:  # a proprietary CLA: the runtime left it to the applet
            return self._get_response(ctx, le)
        return reply(SW.INS_NOT_SUPPORTED)

    def _warning(self, apdu: CommandApdu) -> ResponseApdu:
        if not 1 <= apdu.p1 <= len(t.SW_62XX):
            return reply(SW.INCORRECT_P1P2)
        sw = t.SW_62XX[apdu.p1 - 1]
        if apdu.p2 == 0x08:
            return ResponseApdu(t.pattern(3), sw)
        if apdu.p2 == 0x0C:
            return ResponseApdu(apdu.to_bytes(), sw)  # the command as received, channel bits included
        return ResponseApdu(b"", sw)

    def _get_response(self, ctx: Context, le: int) -> ResponseApdu:
        pending = ctx.session.pop(PENDING_KEY, b"")
        if not pending:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        body, final = pending[:-2], pending[-2:]
        chunk, rest = body[:le], body[le:]
        if rest:
            ctx.session[PENDING_KEY] = rest + final
            return ResponseApdu(chunk, 0x6100 | (min(len(rest), 256) & 0xFF))
        return ResponseApdu(chunk, int.from_bytes(final, "big"))


class SelectSwApplet(Applet):
    """Answers its SELECT with the status word its parameters name (warnings come with 2 data bytes)."""

    type_name = "kit-select-sw"
    multiselectable = True

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        sw = int(self.params["sw"], 16)
        return ResponseApdu(b"\x01\x02" if sw >> 8 in (0x62, 0x63) else b"", sw)


class SingleApplet(Applet):
    """Not multi-selectable: selected on one channel, its SELECT on another answers 6985 (GPCS §11.9.2)."""

    type_name = "kit-single"
    multiselectable = False

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply()


class EchoClaApplet(Applet):
    """Answers INS CA with the CLA byte it received and the logical channel the runtime routed it to."""

    type_name = "kit-echo-cla"
    multiselectable = True

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == t.INS_ECHO_CLA:
            return reply(SW.OK, bytes((apdu.cla, ctx.channel)))
        return reply(SW.INS_NOT_SUPPORTED)


APPLET_CLASSES: tuple[type[Applet], ...] = (CtsOmapiApplet, SelectSwApplet, SingleApplet, EchoClaApplet)


def specs() -> list[tuple[str, bytes, dict[str, Any]]]:
    """(type, AID, params) of every OMAPI test applet, as the handset's SE installs them."""
    out: list[tuple[str, bytes, dict[str, Any]]] = [
        ("cts-omapi", t.CTS_SELECTABLE, {}),
        ("cts-omapi", t.CTS_LONG_SELECT, {}),
        ("kit-single", t.KIT_SINGLE, {}),
        ("kit-echo-cla", t.KIT_ECHO_CLA, {}),
    ]
    out += [("kit-select-sw", aid, {"sw": f"{sw:04X}"}) for sw, aid in t.KIT_SELECT_SW.items()]
    return out
