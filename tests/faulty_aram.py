"""Deliberately non-conforming ARA-Ms, one fault each, to show every ARA-M conformance test can fail.

Each is a card factory ``(personality, state) -> card`` for a profile's ``ixit.transport.factory``: the
reference card with its ARA-M replaced by a faulty subclass (not registered, so state files are unaffected).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.aram import AraM
from jpkikit.reference.emulator.gp.secure_channel import CardSecureChannel
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv


def _card_with(cls: type[AraM]) -> Callable[[str, Path | None], Card]:
    def factory(personality: str, state: Path | None = None) -> Card:
        card = Card(get_personality(personality or "gp-se"), state)
        entry = card.registry[seac.ARAM_AID]
        old = entry.applet
        entry.applet = cls(old.aid, old.data, **old.params)
        return card

    return factory


class MissingRule(AraM):
    """GET DATA [All] leaves out the last rule."""

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 << 8 | apdu.p2 == seac.T_ALL:
            body = Tlv(seac.T_ALL, bytes.fromhex("".join(self.data["rules"][:-1]))).encode()
            return self._first_chunk(ctx, apdu, body)
        return super().get_data(ctx, apdu)


class NoNext(AraM):
    """GET DATA [Next] is not implemented."""

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 << 8 | apdu.p2 == 0xFF60:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        return super().get_data(ctx, apdu)


class SpecificFirstRule(AraM):
    """GET DATA [Specific] answers the first rule's AR-DO whatever the REF-DO."""

    def _specific(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        rules = self.rules()
        return reply(SW.OK, Tlv(seac.T_SPECIFIC, rules[0].ar.encode() if rules else b"").encode())


class RestlessRefreshTag(AraM):
    """Draws a new refresh tag on every read, so handsets re-read all rules every time."""

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 << 8 | apdu.p2 == seac.T_REFRESH:
            self._changed()
        return super().get_data(ctx, apdu)


class NoConfig(AraM):
    """No GET DATA [Config]."""

    def _config(self, apdu: CommandApdu) -> ResponseApdu:
        return reply(SW.REFERENCED_DATA_NOT_FOUND)


class StaleRefreshTag(AraM):
    """STORE DATA changes the rules but not the refresh tag."""

    def store_data(self, apdu: CommandApdu) -> ResponseApdu:
        tag = self.data["refresh"]
        response = super().store_data(apdu)
        self.data["refresh"] = tag
        return response


class StoreWithoutSecureChannel(AraM):
    """Accepts STORE DATA outside an SCP03 session."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel | None, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xE2:
            return self.store_data(apdu)
        return super().dispatch(ctx, sc, apdu)


missing_rule = _card_with(MissingRule)
no_next = _card_with(NoNext)
specific_first_rule = _card_with(SpecificFirstRule)
restless_refresh_tag = _card_with(RestlessRefreshTag)
no_config = _card_with(NoConfig)
stale_refresh_tag = _card_with(StaleRefreshTag)
store_without_secure_channel = _card_with(StoreWithoutSecureChannel)


class MalformedRules(AraM):
    """Answers GET DATA [All] with a REF-DO that has no AR-DO (GlobalPlatformPro's TestParseTags negative
    example) - for the handset unit tests: the ACE must deny everything and report it."""

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 << 8 | apdu.p2 == seac.T_ALL:
            ref = seac.RefDo(bytes.fromhex("D392F000260100000001"), b"")
            body = Tlv(seac.T_ALL, Tlv(seac.T_REF_AR, ref.encode()).encode()).encode()
            return self._first_chunk(ctx, apdu, body)
        return super().get_data(ctx, apdu)


malformed_rules = _card_with(MalformedRules)
