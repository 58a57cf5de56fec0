"""Deliberately non-conforming GlobalPlatform cards, one fault each, to show that every GP conformance test
can fail. Each is a factory ``(personality, state) -> card`` for a profile's ``ixit.transport.factory``.

The faults are made by swapping the class of the ISD (or APSD) applet object, or of its card-side SCP03
session, for a subclass that breaks one rule; everything else stays the reference behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.gp import content
from jpkikit.reference.emulator.gp.recognition import card_recognition_data
from jpkikit.reference.emulator.gp.secure_channel import CardSecureChannel, ChannelState
from jpkikit.reference.emulator.gp.security_domain import IssuerSecurityDomain, SecurityDomain
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card, Channel
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.scp03.session import Scp03Session

# -- card-side SCP03 faults ---------------------------------------------------------------------------------


class AnyHostCryptogram(CardSecureChannel):
    def external_authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        pending = self._pending
        response = super().external_authenticate(apdu)
        if response.sw == SW.VERIFICATION_FAILED and pending is not None:
            self.session = Scp03Session(pending[0], apdu.data and self._mode(pending[3]), apdu.p1)
            self.session.chain = self.session.command_mac(
                apdu.cla,
                apdu.ins,
                apdu.p1,
                apdu.p2,
                bytes((len(apdu.data),)),
                apdu.data[: -self.session.mac_length],
            )
            self.state = ChannelState.OPEN
            return reply()
        return response

    @staticmethod
    def _mode(i: int) -> Any:
        from jpkikit.vocab.scp03.levels import mode_from_i

        return mode_from_i(i)


class NoAbort(CardSecureChannel):
    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        session = self.session
        saved = (session.chain, session.counter) if session else None
        result = super().unwrap(apdu)
        if self.state is ChannelState.ABORTED and session is not None and saved is not None:
            self.state, session.closed = ChannelState.OPEN, False
            session.chain, session.counter = saved
        return result


class NoChaining(CardSecureChannel):
    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        chain = self.session.chain if self.session else None
        result = super().unwrap(apdu)
        if self.session is not None and chain is not None and isinstance(result, CommandApdu):
            self.session.chain = chain  # the chaining value never moves: replays verify
        return result


class PlainAccepted(CardSecureChannel):
    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        if self.state is ChannelState.OPEN and not cla_secure_messaging(apdu.cla):
            return apdu
        return super().unwrap(apdu)


class NoExternalAuthenticate(CardSecureChannel):
    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        if self.state is ChannelState.PENDING and self._pending is not None:
            from jpkikit.vocab.scp03.levels import mode_from_i

            keys, _, _, i = self._pending
            self.session = Scp03Session(keys, mode_from_i(i), 0x01)
            self.state = ChannelState.OPEN
        return super().unwrap(apdu)


# -- security domain faults --------------------------------------------------------------------------------


class UnknownKvnUsesDefault(IssuerSecurityDomain):
    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 and self.static_keys(apdu.p1) is None:
            apdu = CommandApdu(apdu.cla, apdu.ins, 0x00, apdu.p2, apdu.data, apdu.ne)
        return super().initialize_update(ctx, sc, apdu)


class CounterStuck(IssuerSecurityDomain):
    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        response = super().initialize_update(ctx, sc, apdu)
        kvn = apdu.p1 or self.default_kvn()
        entry = self.data["keysets"].get(f"{kvn:02X}") if kvn else None
        if response.ok and entry:
            entry["counter"] -= 1
        return response


class CounterWraps(IssuerSecurityDomain):
    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        entry = self.data["keysets"].get(f"{apdu.p1:02X}")
        if entry and entry["counter"] >= 0xFFFFFF:
            entry["counter"] = 0
        return super().initialize_update(ctx, sc, apdu)


class WrongI(IssuerSecurityDomain):
    def data_object(self, ctx: Context, tag: int) -> bytes | None:
        if tag == 0x66:
            return card_recognition_data(self.i_param ^ 0x10)
        return super().data_object(ctx, tag)


class NoRMac(IssuerSecurityDomain):
    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super().process(ctx, apdu)
        sc = ctx.session.get("scp03")
        if (
            sc is not None
            and sc.session is not None
            and sc.session.level & 0x10
            and response.ok
            and response.data
        ):
            return ResponseApdu(response.data[: -sc.session.mac_length], response.sw)
        return response


class _ManageFault(IssuerSecurityDomain):
    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        return None

    def manage(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return self.fault(ctx, apdu) or super().manage(ctx, apdu)


class InstallNotSelectable(_ManageFault):
    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xE6 and apdu.p1 == 0x0C:
            response = content.manage(self, ctx, apdu)
            for entry in ctx.card.registry.values():
                if entry.life_cycle == 0x07 and entry.applet.type_name == "gp-test":
                    entry.life_cycle = 0x03
            return response
        return None


class MakeSelectableIgnored(_ManageFault):
    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        return reply(SW.OK, b"\x00") if apdu.ins == 0xE6 and apdu.p1 == 0x08 else None


class PersoDropped(IssuerSecurityDomain):
    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xE2 and ctx.session.pop(content.PERSO_TARGET, None):
            return reply()
        return super().dispatch(ctx, sc, apdu)


class DeleteIgnoresInstances(_ManageFault):
    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xE4 and apdu.p2 == 0x00 and apdu.data[2:].hex().upper() in self.data["elfs"]:
            del self.data["elfs"][apdu.data[2:].hex().upper()]
            return reply(SW.OK, b"\x00")
        return None


class LockIgnored(_ManageFault):
    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        return reply() if apdu.ins == 0xF0 and apdu.p1 == 0x40 and apdu.p2 & 0x80 else None


class AnyCardTransition(_ManageFault):
    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xF0 and apdu.p1 == 0x80:
            ctx.card.life_cycle = apdu.p2
            return reply()
        return None


class CardLockIgnored(Card):
    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        saved, self.life_cycle = self.life_cycle, 0x0F
        try:
            return super()._select_by_name(channel, apdu)
        finally:
            self.life_cycle = saved


# -- factories ----------------------------------------------------------------------------------------------


def _card(personality: str | None, state: Path | None, card_class: type[Card] = Card) -> Card:
    return card_class(get_personality(personality or "gp-se"), state)


def _isd(cls: type[IssuerSecurityDomain]) -> Callable[[str | None, Path | None], Card]:
    def factory(personality: str | None, state: Path | None) -> Card:
        card = _card(personality, state)
        for entry in card.registry.values():
            if type(entry.applet) is IssuerSecurityDomain:
                entry.applet.__class__ = cls
        return card

    return factory


def _channel(cls: type[CardSecureChannel]) -> Callable[[str | None, Path | None], Card]:
    def factory(personality: str | None, state: Path | None) -> Card:
        card = _card(personality, state)
        for entry in card.registry.values():
            if isinstance(entry.applet, SecurityDomain):
                entry.applet.channel_class = cls
        return card

    return factory


def apsd_uses_isd_keys(personality: str | None, state: Path | None) -> Card:
    card = _card(personality, state)
    isd = next(e.applet for e in card.registry.values() if type(e.applet) is IssuerSecurityDomain)
    for entry in card.registry.values():
        if type(entry.applet) is SecurityDomain:
            entry.applet.data["keysets"] = {k: dict(v) for k, v in isd.data["keysets"].items()}
    return card


def card_lock_ignored(personality: str | None, state: Path | None) -> Card:
    return _card(personality, state, CardLockIgnored)


no_r_mac = _isd(NoRMac)
any_host_cryptogram = _channel(AnyHostCryptogram)
no_abort = _channel(NoAbort)
no_chaining = _channel(NoChaining)
plain_accepted = _channel(PlainAccepted)
unknown_kvn_uses_default = _isd(UnknownKvnUsesDefault)
no_external_authenticate = _channel(NoExternalAuthenticate)
counter_stuck = _isd(CounterStuck)
counter_wraps = _isd(CounterWraps)
wrong_i = _isd(WrongI)
install_not_selectable = _isd(InstallNotSelectable)
make_selectable_ignored = _isd(MakeSelectableIgnored)
perso_dropped = _isd(PersoDropped)
delete_ignores_instances = _isd(DeleteIgnoresInstances)
lock_ignored = _isd(LockIgnored)
any_card_transition = _isd(AnyCardTransition)


# -- faults that show as cryptographic or structural errors on the host side (honest verdicts) --------------


class OtherKeyVersion(IssuerSecurityDomain):
    """INITIALIZE UPDATE reports another key version than the one asked for (the key set used is the one
    asked for: only the key information lies)."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        response = super().initialize_update(ctx, sc, apdu)
        if not response.ok:
            return response
        data = bytearray(response.data)
        data[10] ^= 0x01  # KVN of the key information (Amd D Table 7-2)
        return ResponseApdu(bytes(data), response.sw)


class BadCardCryptogram(IssuerSecurityDomain):
    """The card cryptogram is one bit off."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        response = super().initialize_update(ctx, sc, apdu)
        if not response.ok:
            return response
        data = bytearray(response.data)
        n = 16 if data[12] & 0x01 else 8
        data[13 + n] ^= 0x01  # first byte of the card cryptogram
        return ResponseApdu(bytes(data), response.sw)


class BadRMac(IssuerSecurityDomain):
    """The R-MAC of every protected response is one bit off."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super().process(ctx, apdu)
        sc = ctx.session.get("scp03")
        if (
            sc is not None
            and sc.session is not None
            and sc.session.level & 0x10
            and response.ok
            and response.data
        ):
            data = bytearray(response.data)
            data[-1] ^= 0x01
            return ResponseApdu(bytes(data), response.sw)
        return response


other_key_version = _isd(OtherKeyVersion)
bad_card_cryptogram = _isd(BadCardCryptogram)
bad_r_mac = _isd(BadRMac)
