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
from jpkikit.reference.emulator.gp.security_domain import SCP_KEY, IssuerSecurityDomain, SecurityDomain
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card, Channel
from jpkikit.vocab.gp.constants import GP_OID, ISD_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv, decode
from jpkikit.vocab.scp03.crypto import cbc_encrypt, cmac, pad80
from jpkikit.vocab.scp03.errors import SecureChannelError
from jpkikit.vocab.scp03.handshake import MAX_SEQUENCE_COUNTER, host_cryptogram
from jpkikit.vocab.scp03.levels import I_PSEUDO_RANDOM, SecurityLevel, mode_from_i
from jpkikit.vocab.scp03.session import Scp03Session, is_error_sw, lc_field

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


Factory = Callable[[str | None, Path | None], Card]


def _card(personality: str | None, state: Path | None, card_class: type[Card] = Card) -> Card:
    return card_class(get_personality(personality or "gp-se"), state)


def _swapped(base: type[SecurityDomain], cls: type[SecurityDomain]) -> Factory:
    """A card whose security domains of exactly class ``base`` are of class ``cls``."""

    def factory(personality: str | None, state: Path | None) -> Card:
        card = _card(personality, state)
        for entry in card.registry.values():
            if type(entry.applet) is base:
                entry.applet.__class__ = cls
        return card

    return factory


def _isd(cls: type[IssuerSecurityDomain]) -> Callable[[str | None, Path | None], Card]:
    return _swapped(IssuerSecurityDomain, cls)


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


# ============================================================================================================
# The fault catalogue of issue 12 (tests/faults/gp.yaml): one change each, grouped by the requirement they
# break. Helpers first.
# ============================================================================================================


def _apsd(cls: type[SecurityDomain]) -> Callable[[str | None, Path | None], Card]:
    """A card whose supplementary SDs (the JPKI APSD) are of class ``cls``."""
    return _swapped(SecurityDomain, cls)


def _card_of(cls: type[Card]) -> Callable[[str | None, Path | None], Card]:
    def factory(personality: str | None, state: Path | None) -> Card:
        return _card(personality, state, cls)

    return factory


def _with(
    isd: type[IssuerSecurityDomain] | None = None, channel: type[CardSecureChannel] | None = None
) -> Callable[[str | None, Path | None], Card]:
    """A card with the ISD of class ``isd`` and the security domains' channel class ``channel``."""

    def factory(personality: str | None, state: Path | None) -> Card:
        card = _card(personality, state)
        for entry in card.registry.values():
            if isd is not None and type(entry.applet) is IssuerSecurityDomain:
                entry.applet.__class__ = isd
            if channel is not None and isinstance(entry.applet, SecurityDomain):
                entry.applet.channel_class = channel
        return card

    return factory


def _open(sc: CardSecureChannel) -> Scp03Session | None:
    return sc.session if sc.state is ChannelState.OPEN else None


def _isd_of(ctx: Context) -> IssuerSecurityDomain | None:
    return content.issuer(ctx)


# -- GP-SCP-01: protection at every claimed level, key length and mode ---------------------------------------


class CdecCounterSkipsEmpty(CardSecureChannel):
    """The encryption counter counts only commands with data (Amd D §6.2.6: every command counts)."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        result = super().unwrap(apdu)
        if isinstance(result, CommandApdu) and self.session is not None and not result.data:
            self.session.counter -= 1
        return result


class NoAes192(IssuerSecurityDomain):
    """AES-192 key sets are claimed but INITIALIZE UPDATE with one answers 6A88."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        kvn = apdu.p1 or self.default_kvn()
        keys = self.static_keys(kvn) if kvn is not None else None
        if keys is not None and keys.length == 24:
            sc.terminate()
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        return super().initialize_update(ctx, sc, apdu)


class NoS16(IssuerSecurityDomain):
    """S16 is claimed but not delivered: a 16-byte host challenge is refused."""

    @property
    def modes(self) -> list[str]:
        return ["S8"]


class REncIcvWithout80(CardSecureChannel):
    """R-ENCRYPTION with the command's ICV (the counter alone), not 80 || counter (Amd D §6.2.7)."""

    def wrap(self, response: ResponseApdu) -> ResponseApdu:
        s = _open(self)
        if (
            s is not None
            and s.level & SecurityLevel.R_ENCRYPTION
            and response.data
            and not is_error_sw(response.sw)
        ):
            data = cbc_encrypt(s.keys.s_enc, s.command_icv(), pad80(response.data))
            return ResponseApdu(data + s.response_mac(data, response.sw), response.sw)
        return super().wrap(response)


class RMacWithoutSw(CardSecureChannel):
    """The R-MAC leaves the status word out (Amd D §6.2.5: chaining value, data and status word)."""

    def wrap(self, response: ResponseApdu) -> ResponseApdu:
        s = _open(self)
        if s is not None and s.level & SecurityLevel.R_MAC and not is_error_sw(response.sw):
            data = response.data
            if s.level & SecurityLevel.R_ENCRYPTION and data:
                data = cbc_encrypt(s.keys.s_enc, s.response_icv(), pad80(data))
            return ResponseApdu(data + cmac(s.keys.s_rmac, s.chain + data)[: s.mac_length], response.sw)
        return super().wrap(response)


# -- GP-SCP-02: a wrong host cryptogram ----------------------------------------------------------------------


class HostCryptogramPrefix(CardSecureChannel):
    """Compares only the first 4 bytes of the host cryptogram."""

    def external_authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        pending = self._pending
        response = super().external_authenticate(apdu)
        if response.sw == SW.VERIFICATION_FAILED and pending is not None:
            keys, host_challenge, card_challenge, i = pending
            mode = mode_from_i(i)
            session = Scp03Session(keys, mode, apdu.p1)
            received = session.verify_external_authenticate(apdu)
            if received[:4] == host_cryptogram(keys, host_challenge, card_challenge, mode)[:4]:
                self.session, self.state = session, ChannelState.OPEN
                return reply()
        return response


class EaWrongSw(CardSecureChannel):
    """A wrong host cryptogram is answered 6982, not 6300 (GPCS Table E-12)."""

    def external_authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        response = super().external_authenticate(apdu)
        if response.sw == SW.VERIFICATION_FAILED:
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)
        return response


class EaRetry(CardSecureChannel):
    """A refused EXTERNAL AUTHENTICATE leaves the handshake pending: the host may try again."""

    def external_authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        pending = self._pending
        response = super().external_authenticate(apdu)
        if response.sw == SW.VERIFICATION_FAILED and pending is not None:
            self._pending, self.state = pending, ChannelState.PENDING
        return response


class SessionAfter6300(CardSecureChannel):
    """Answers 6300 to a wrong host cryptogram, but opens the session all the same."""

    def external_authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        pending = self._pending
        response = super().external_authenticate(apdu)
        if response.sw == SW.VERIFICATION_FAILED and pending is not None:
            session = Scp03Session(pending[0], mode_from_i(pending[3]), apdu.p1)
            session.verify_external_authenticate(apdu)
            self.session, self.state = session, ChannelState.OPEN
        return response


# -- GP-SCP-03: a bad C-MAC ----------------------------------------------------------------------------------


class _ShortMacCompare(CardSecureChannel):
    """Compares only the first ``compared(mac length)`` bytes of a C-MAC."""

    def compared(self, mac_length: int) -> int:
        return mac_length

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        s = _open(self)
        if s is not None and cla_secure_messaging(apdu.cla) and len(apdu.data) >= s.mac_length:
            n, k = s.mac_length, self.compared(s.mac_length)
            body, mac = apdu.data[:-n], apdu.data[-n:]
            lc = lc_field(len(apdu.data), apdu.is_extended)
            full = s.command_mac(apdu.cla, apdu.ins, apdu.p1, apdu.p2, lc, body)
            if k < n and mac[:k] == full[:k]:
                fixed = body + full[:n]
                apdu = CommandApdu(
                    apdu.cla, apdu.ins, apdu.p1, apdu.p2, fixed, apdu.ne, extended=apdu.is_extended
                )
        return super().unwrap(apdu)


class MacPrefix4(_ShortMacCompare):
    def compared(self, mac_length: int) -> int:
        return 4


class S16Mac8(_ShortMacCompare):
    """In S16 mode only the first 8 of the 16 C-MAC bytes are compared."""

    def compared(self, mac_length: int) -> int:
        return 8 if mac_length == 16 else mac_length


class BadMacAnswered9000(CardSecureChannel):
    """Aborts the session on a bad C-MAC but answers the failing command 9000 (an error path that
    reports success)."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        was_open = self.state is ChannelState.OPEN
        result = super().unwrap(apdu)
        if was_open and self.state is ChannelState.ABORTED:
            return reply()
        return result


# -- GP-SCP-04: MAC chaining ---------------------------------------------------------------------------------


class ReplayFromCache(CardSecureChannel):
    """Retransmission handling gone wrong: a command byte for byte the same as the last one is answered with
    the last response again (as if the host had lost it), instead of failing its C-MAC check."""

    _last: tuple[bytes, ResponseApdu] | None = None
    _wire: bytes | None = None

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        wire = apdu.to_bytes()
        if self.state is ChannelState.OPEN and self._last is not None and self._last[0] == wire:
            return self._last[1]
        self._wire = wire
        return super().unwrap(apdu)

    def wrap(self, response: ResponseApdu) -> ResponseApdu:
        wrapped = super().wrap(response)
        if self._wire is not None:
            self._last, self._wire = (self._wire, wrapped), None
        return wrapped


class MacWindow(CardSecureChannel):
    """Accepts a C-MAC computed over the current chaining value or the previous one (a tolerance window)."""

    _previous: bytes | None = None

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        s = _open(self)
        if s is None:
            return super().unwrap(apdu)
        before = s.chain
        result = super().unwrap(apdu)
        if isinstance(result, CommandApdu):
            self._previous = before
            return result
        if self._previous is None:
            return result
        self.state, s.closed, s.chain = ChannelState.OPEN, False, self._previous
        retry = super().unwrap(apdu)
        return retry if isinstance(retry, CommandApdu) else result


# -- GP-SCP-05: commands below the session level -------------------------------------------------------------


class PlainRefusedNoAbort(CardSecureChannel):
    """Refuses an unprotected command in a session but does not abort the session."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        if self.state is ChannelState.OPEN and not cla_secure_messaging(apdu.cla):
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)
        return super().unwrap(apdu)


def _clear_data(s: Scp03Session, apdu: CommandApdu) -> bool:
    """A C-DECRYPTION session and command data that cannot be ciphertext (not whole AES blocks)."""
    return bool(
        s.level & SecurityLevel.C_DECRYPTION
        and cla_secure_messaging(apdu.cla)
        and (len(apdu.data) - s.mac_length) % 16
    )


class CdecSkipsShortData(CardSecureChannel):
    """Takes command data that is not whole AES blocks as sent in clear, in a C-DECRYPTION session."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        s = _open(self)
        if s is not None and _clear_data(s, apdu):
            level, s.level = s.level, SecurityLevel(s.level & ~SecurityLevel.C_DECRYPTION)
            try:
                return super().unwrap(apdu)
            finally:
                s.level = level
        return super().unwrap(apdu)


class CdecErrorNoAbort(CardSecureChannel):
    """Refuses command data that does not decrypt, but goes on with the session."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        s = _open(self)
        if s is not None and _clear_data(s, apdu):
            try:
                s._verify_mac(apdu)
            except SecureChannelError:
                return super().unwrap(apdu)
            s.counter += 1
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)
        return super().unwrap(apdu)


# -- GP-SCP-06: unknown key version numbers ------------------------------------------------------------------


class KvnLowBits(IssuerSecurityDomain):
    """Finds key sets by the low six bits of the KVN: 7F finds 3F."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 and self.static_keys(apdu.p1) is None and self.static_keys(apdu.p1 & 0x3F) is not None:
            apdu = CommandApdu(apdu.cla, apdu.ins, apdu.p1 & 0x3F, apdu.p2, apdu.data, apdu.ne)
        return super().initialize_update(ctx, sc, apdu)


class UnknownKvn6A86(IssuerSecurityDomain):
    """An unknown KVN is answered 6A86 (incorrect P1 P2), not 6A88."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        response = super().initialize_update(ctx, sc, apdu)
        return reply(SW.INCORRECT_P1P2) if response.sw == SW.REFERENCED_DATA_NOT_FOUND else response


# -- GP-SCP-07: EXTERNAL AUTHENTICATE ------------------------------------------------------------------------


class HandshakeSurvivesCommands(CardSecureChannel):
    """Refuses a wrapped command sent before EXTERNAL AUTHENTICATE but keeps the handshake pending."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        if self.state is ChannelState.PENDING:
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED) if cla_secure_messaging(apdu.cla) else apdu
        return super().unwrap(apdu)


class HandshakeSurvivesSelect(IssuerSecurityDomain):
    """Keeps a pending handshake across a re-SELECT of the ISD on the channel."""

    def deselect(self, ctx: Context) -> None:
        sc = ctx.session.get(SCP_KEY)
        if sc is not None and sc.state is ChannelState.PENDING:
            self.__dict__.setdefault("_kept", {})[ctx.channel] = sc
        super().deselect(ctx)

    def channel(self, ctx: Context) -> CardSecureChannel:
        kept = self.__dict__.get("_kept", {}).pop(ctx.channel, None)
        if kept is not None and SCP_KEY not in ctx.session:
            ctx.session[SCP_KEY] = kept
        return super().channel(ctx)


# -- GP-SCP-08: the card challenge ---------------------------------------------------------------------------


class RandomChallengeDespiteI(IssuerSecurityDomain):
    """INITIALIZE UPDATE answers i without b5 and a random challenge, although the card recognition data
    and the ICS announce pseudo-random challenges (70)."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        i = self.params.get("i", "70")
        self.params["i"] = f"{int(i, 16) & ~I_PSEUDO_RANDOM:02X}"
        try:
            return super().initialize_update(ctx, sc, apdu)
        finally:
            self.params["i"] = i


class CounterPlusTwo(IssuerSecurityDomain):
    """Every INITIALIZE UPDATE moves the sequence counter by two."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        response = super().initialize_update(ctx, sc, apdu)
        kvn = apdu.p1 or self.default_kvn()
        if response.ok and kvn is not None:
            self.data["keysets"][f"{kvn:02X}"]["counter"] += 1
        return response


class CountersInRam(Card):
    """Keeps the sequence counters in RAM: every power-up starts them from their issuance values."""

    def power_on(self) -> bytes:
        for entry in self.registry.values():
            if isinstance(entry.applet, SecurityDomain):
                for spec in entry.applet.params.get("keysets", []):
                    kvn = f"{int(spec['kvn'], 16):02X}"
                    if kvn in entry.applet.data["keysets"]:
                        entry.applet.data["keysets"][kvn]["counter"] = int(spec.get("counter", 0))
        return super().power_on()


class ChallengeFromPreviousCounter(CardSecureChannel):
    """Derives the pseudo-random card challenge from the counter before the increment, and answers the
    counter after it."""

    def initialize_update(
        self,
        apdu: CommandApdu,
        keys: Any,
        i: int,
        sequence_counter: int,
        diversification: bytes = b"\x00" * 10,
        card_challenge: bytes | None = None,
    ) -> ResponseApdu:
        response = super().initialize_update(apdu, keys, i, sequence_counter - 1, diversification)
        if response.ok and i & I_PSEUDO_RANDOM:
            return ResponseApdu(response.data[:-3] + sequence_counter.to_bytes(3, "big"), response.sw)
        return response


class RandomDespitePseudoRandomClaim(CardSecureChannel):
    """Announces pseudo-random card challenges (i b5 set, the sequence counter answered) but sends random
    ones, with a card cryptogram that verifies over them."""

    def initialize_update(
        self,
        apdu: CommandApdu,
        keys: Any,
        i: int,
        sequence_counter: int,
        diversification: bytes = b"\x00" * 10,
        card_challenge: bytes | None = None,
    ) -> ResponseApdu:
        if not i & I_PSEUDO_RANDOM:
            return super().initialize_update(apdu, keys, i, sequence_counter, diversification, card_challenge)
        random_i = i & ~I_PSEUDO_RANDOM
        response = super().initialize_update(apdu, keys, random_i, sequence_counter, diversification)
        if not response.ok:
            return response
        data = bytearray(response.data)
        data[12] = i  # diversification data (10), KVN, SCP identifier, then i (Amd D Table 7-2)
        return ResponseApdu(bytes(data) + sequence_counter.to_bytes(3, "big"), response.sw)


class RandomClaimIsd(IssuerSecurityDomain):
    """The premise of a card claiming random card challenges: i = 60 (R-MAC, R-ENC, random)."""

    @property
    def i_param(self) -> int:
        return 0x60


class ConstantChallenge(CardSecureChannel):
    """Claims random card challenges but sends the same one every time."""

    def initialize_update(
        self,
        apdu: CommandApdu,
        keys: Any,
        i: int,
        sequence_counter: int,
        diversification: bytes = b"\x00" * 10,
        card_challenge: bytes | None = None,
    ) -> ResponseApdu:
        fixed = bytes(range(16 if i & 0x01 else 8))
        return super().initialize_update(apdu, keys, i, sequence_counter, diversification, fixed)


# -- GP-SCP-09: the exhausted counter ------------------------------------------------------------------------


class ExhaustedAtOnce(IssuerSecurityDomain):
    """Off by one: refuses a key set whose counter is FFFFFE already, so FFFFFF is never shown."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        kvn = apdu.p1 or self.default_kvn()
        entry = self.data["keysets"].get(f"{kvn:02X}") if kvn is not None else None
        if entry is not None and entry["counter"] >= MAX_SEQUENCE_COUNTER - 1:
            sc.terminate()
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        return super().initialize_update(ctx, sc, apdu)


class ExhaustionBlocksAll(IssuerSecurityDomain):
    """Once one key set is exhausted, INITIALIZE UPDATE is refused for every key set."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        if any(e["counter"] >= MAX_SEQUENCE_COUNTER for e in self.data["keysets"].values()):
            sc.terminate()
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        return super().initialize_update(ctx, sc, apdu)


class Exhausted6A88(IssuerSecurityDomain):
    """An exhausted key set is answered 6A88 (as if it did not exist), not 6985."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        response = super().initialize_update(ctx, sc, apdu)
        if response.sw == SW.CONDITIONS_NOT_SATISFIED:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        return response


# -- GP-SCP-10: the APSD's own key set -----------------------------------------------------------------------


class ApsdFallsBackToIsd(SecurityDomain):
    """INITIALIZE UPDATE on the APSD with a KVN it does not hold uses the ISD's key set of that KVN."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        kvn = f"{apdu.p1:02X}"
        isd = _isd_of(ctx)
        if apdu.p1 and kvn not in self.data["keysets"] and isd is not None and kvn in isd.data["keysets"]:
            self.data["keysets"][kvn] = dict(isd.data["keysets"][kvn])
        return super().initialize_update(ctx, sc, apdu)


class ApsdSharedCounter(SecurityDomain):
    """The APSD's key set uses the ISD's sequence counter of the same KVN."""

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        kvn = apdu.p1 or self.default_kvn()
        isd = _isd_of(ctx)
        mine = self.data["keysets"].get(f"{kvn:02X}") if kvn is not None else None
        theirs = isd.data["keysets"].get(f"{kvn:02X}") if isd is not None and kvn is not None else None
        if mine is not None and theirs is not None:
            mine["counter"] = theirs["counter"]
        response = super().initialize_update(ctx, sc, apdu)
        if mine is not None and theirs is not None:
            theirs["counter"] = mine["counter"]
        return response


class ApsdChallengeOverIsdAid(SecurityDomain):
    """The APSD derives its pseudo-random card challenge over the ISD's AID, not its own."""

    def channel(self, ctx: Context) -> CardSecureChannel:
        sc = super().channel(ctx)
        sc.sd_aid = ISD_AID
        return sc


# -- GP-SCP-11: session scope --------------------------------------------------------------------------------


class SessionSurvivesSelect(IssuerSecurityDomain):
    """Keeps each channel's secure channel in a table on the ISD by channel number: a selection (or a
    reset) does not end it."""

    def channel(self, ctx: Context) -> CardSecureChannel:
        table = self.__dict__.setdefault("_table", {})
        sc = ctx.session.get(SCP_KEY) or table.get(ctx.channel) or self.channel_class(self.aid)
        ctx.session[SCP_KEY] = table[ctx.channel] = sc
        return sc


class SessionSurvivesReset(Card):
    """A warm reset leaves the transient state (selections and sessions) as it was."""

    def reset(self) -> bytes:
        self.powered = True
        return self.atr


class OneSessionPerSd(IssuerSecurityDomain):
    """One secure channel for the ISD whatever the logical channel, until the next INITIALIZE UPDATE."""

    def channel(self, ctx: Context) -> CardSecureChannel:
        sc = self.__dict__.get("_shared")
        if sc is None:
            sc = self.__dict__["_shared"] = self.channel_class(self.aid)
        ctx.session[SCP_KEY] = sc
        return sc


class SessionSurvivesChannelClose(SessionSurvivesSelect):
    """Keeps sessions in a table by channel number, cleared when the ISD is deselected on an open channel
    but not when the channel is closed: a reopened channel finds the old session."""

    def deselect(self, ctx: Context) -> None:
        if ctx.channel in ctx.card.channels:
            self.__dict__.get("_table", {}).pop(ctx.channel, None)
        super().deselect(ctx)


# -- GP-SCP-12: error responses ------------------------------------------------------------------------------


class RMacOnErrors(CardSecureChannel):
    """Appends an R-MAC to error responses too."""

    def wrap(self, response: ResponseApdu) -> ResponseApdu:
        s = _open(self)
        if s is not None and s.level & SecurityLevel.R_MAC and is_error_sw(response.sw):
            return ResponseApdu(s.response_mac(b"", response.sw), response.sw)
        return super().wrap(response)


class ErrorAbortsSession(CardSecureChannel):
    """Takes any error status word of a command as a security error and aborts the session."""

    def wrap(self, response: ResponseApdu) -> ResponseApdu:
        wrapped = super().wrap(response)
        if self.state is ChannelState.OPEN and is_error_sw(response.sw):
            self.state = ChannelState.ABORTED
        return wrapped


class ChainKeptOnError(CardSecureChannel):
    """Does not advance the MAC chaining value over a command answered with an error."""

    _before: bytes | None = None

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        self._before = self.session.chain if self.session is not None else None
        return super().unwrap(apdu)

    def wrap(self, response: ResponseApdu) -> ResponseApdu:
        wrapped = super().wrap(response)
        if self.session is not None and self._before is not None and is_error_sw(response.sw):
            self.session.chain = self._before
        return wrapped


# -- GP-SCP-13: the largest command --------------------------------------------------------------------------


class ExtLcMacOneByte(CardSecureChannel):
    """Computes the C-MAC of an extended-length command over a one-byte Lc."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        s = _open(self)
        if s is not None and apdu.is_extended and cla_secure_messaging(apdu.cla):
            n = s.mac_length
            body, mac = apdu.data[:-n], apdu.data[-n:]
            mine = s.command_mac(apdu.cla, apdu.ins, apdu.p1, apdu.p2, bytes((len(apdu.data) & 0xFF,)), body)
            if mac != mine[:n]:
                self.state = ChannelState.ABORTED
                return reply(SW.SECURITY_STATUS_NOT_SATISFIED)
            right = s.command_mac(apdu.cla, apdu.ins, apdu.p1, apdu.p2, lc_field(len(apdu.data), True), body)
            apdu = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, body + right[:n], apdu.ne, extended=True)
        return super().unwrap(apdu)


class NoExtendedInSession(CardSecureChannel):
    """Refuses extended-length commands inside a session (6700) although extended length is claimed."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        if self.state is ChannelState.OPEN and apdu.is_extended:
            return reply(SW.WRONG_LENGTH)
        return super().unwrap(apdu)


class Lc255Refused(CardSecureChannel):
    """Off by one: refuses a wrapped command of 255 data bytes (accepts 254)."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        if self.state is ChannelState.OPEN and len(apdu.data) >= 255:
            return reply(SW.WRONG_LENGTH)
        return super().unwrap(apdu)


class UnpadAtFirst80(CardSecureChannel):
    """Removes the C-DECRYPTION padding from the first 80 byte, not the last."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        result = super().unwrap(apdu)
        s = self.session
        if isinstance(result, CommandApdu) and s is not None and s.level & SecurityLevel.C_DECRYPTION:
            if 0x80 in result.data:
                cut = result.data[: result.data.index(0x80)]
                return CommandApdu(result.cla, result.ins, result.p1, result.p2, cut, result.ne)
        return result


class UnpadStripsTrailing(CardSecureChannel):
    """Removes every trailing 00 and 80 byte as padding."""

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        result = super().unwrap(apdu)
        s = self.session
        if isinstance(result, CommandApdu) and s is not None and s.level & SecurityLevel.C_DECRYPTION:
            cut = result.data.rstrip(b"\x00\x80")
            return CommandApdu(result.cla, result.ins, result.p1, result.p2, cut, result.ne)
        return result


# -- GP-DATA-01: informational data --------------------------------------------------------------------------


class _DataObjectFault(IssuerSecurityDomain):
    def changed(self, tag: int, value: bytes) -> bytes:
        return value

    def data_object(self, ctx: Context, tag: int) -> bytes | None:
        value = super().data_object(ctx, tag)
        return None if value is None else self.changed(tag, value)


class Cplc41(_DataObjectFault):
    """CPLC cut to 41 bytes."""

    def changed(self, tag: int, value: bytes) -> bytes:
        return value[:41] if tag == 0x9F7F else value


def _key_entries(value: bytes) -> list[bytes]:
    return [t.value for t in decode(value)]


class KeyInfoLengthLies(_DataObjectFault):
    """The key information shows the AES-256 key set 32 as 16-byte keys."""

    def changed(self, tag: int, value: bytes) -> bytes:
        if tag != 0xE0:
            return value
        out = [e[:3] + b"\x10" + e[4:] if e[1] == 0x32 else e for e in _key_entries(value)]
        return b"".join(Tlv(0xC0, e).encode() for e in out)


class KeyInfoMissingDek(_DataObjectFault):
    """The key information leaves out every Key-DEK (KID 03)."""

    def changed(self, tag: int, value: bytes) -> bytes:
        if tag != 0xE0:
            return value
        return b"".join(Tlv(0xC0, e).encode() for e in _key_entries(value) if e[0] != 0x03)


class KeyInfoDes(_DataObjectFault):
    """The key information gives the key type 80 (DES) for AES keys."""

    def changed(self, tag: int, value: bytes) -> bytes:
        if tag != 0xE0:
            return value
        return b"".join(Tlv(0xC0, e[:2] + b"\x80" + e[3:]).encode() for e in _key_entries(value))


class Scp02Oid(_DataObjectFault):
    """The card recognition data names SCP02 (04 02 i) for an SCP03 card."""

    def changed(self, tag: int, value: bytes) -> bytes:
        if tag != 0x66:
            return value
        return value.replace(GP_OID + bytes((0x04, 0x03)), GP_OID + bytes((0x04, 0x02)))


class CrdNoTemplate(_DataObjectFault):
    """The card recognition data without its 73 template."""

    def changed(self, tag: int, value: bytes) -> bytes:
        return decode(value)[0].value if tag == 0x66 else value


# -- GP-CM-01 .. GP-CM-04: card content management -----------------------------------------------------------


def _entries(data: bytes) -> list[Tlv]:
    return decode(data)


class _StatusFault(IssuerSecurityDomain):
    """Changes the E3 entries of GET STATUS responses."""

    def entry(self, apdu: CommandApdu, e3: Tlv) -> Tlv | None:
        return e3

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        response = super().dispatch(ctx, sc, apdu)
        if apdu.ins != 0xF2 or response.sw not in (0x9000, 0x6310) or not response.data:
            return response
        kept = [self.entry(apdu, e) for e in _entries(response.data)]
        return ResponseApdu(b"".join(e.encode() for e in kept if e is not None), response.sw)


class ElfNotListed(_StatusFault):
    """GET STATUS P1 20 does not list the load files loaded after issuance."""

    def entry(self, apdu: CommandApdu, e3: Tlv) -> Tlv | None:
        aid = e3.find(0x4F)
        issued = {k.upper() for k in self.params.get("elfs", {})}
        if apdu.p1 in (0x20, 0x10) and aid is not None and aid.value.hex().upper() not in issued:
            return None
        return e3


class StatusWithoutLifeCycle(_StatusFault):
    """GET STATUS entries without their Life Cycle State (9F70, mandatory in Table 11-36)."""

    def entry(self, apdu: CommandApdu, e3: Tlv) -> Tlv | None:
        return Tlv(0xE3, b"".join(t.encode() for t in decode(e3.value) if t.tag != 0x9F70))


class StatusSaysSelectable(_StatusFault):
    """INSTALL [for install and make selectable] leaves the application INSTALLED, and GET STATUS reports
    it SELECTABLE all the same."""

    def manage(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xE6 and apdu.p1 == 0x0C:
            apdu = CommandApdu(apdu.cla, apdu.ins, 0x04, apdu.p2, apdu.data, apdu.ne)
        return super().manage(ctx, apdu)

    def entry(self, apdu: CommandApdu, e3: Tlv) -> Tlv | None:
        items = decode(e3.value)
        if apdu.p1 == 0x40:
            items = [Tlv(0x9F70, b"\x07") if t.tag == 0x9F70 and t.value == b"\x03" else t for t in items]
        return Tlv(0xE3, b"".join(t.encode() for t in items))


class InstallAlwaysSelectable(_ManageFault):
    """INSTALL [for install] (P1 04) makes the application SELECTABLE at once."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xE6 and apdu.p1 == 0x04:
            return content.manage(
                self, ctx, CommandApdu(apdu.cla, apdu.ins, 0x0C, apdu.p2, apdu.data, apdu.ne)
            )
        return None


class InstalledSelectable(Card):
    """SELECT reaches an application that is INSTALLED but not SELECTABLE."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        entry = self.registry.get(apdu.data)
        if entry is None or entry.life_cycle != 0x03:
            return super()._select_by_name(channel, apdu)
        entry.life_cycle = 0x07
        try:
            return super()._select_by_name(channel, apdu)
        finally:
            entry.life_cycle = 0x03


class PersoIgnoresLastBlock(IssuerSecurityDomain):
    """The last STORE DATA block does not end the personalization: later ones still reach the application."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        target = ctx.session.get(content.PERSO_TARGET)
        response = super().dispatch(ctx, sc, apdu)
        if apdu.ins == 0xE2 and target is not None:
            ctx.session[content.PERSO_TARGET] = target
        return response


class PersoSurvivesReselect(IssuerSecurityDomain):
    """Keeps the INSTALL [for personalization] target on the ISD, across a re-SELECT and a new session."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        kept = self.__dict__.get("_perso")
        if kept is not None and content.PERSO_TARGET not in ctx.session:
            ctx.session[content.PERSO_TARGET] = kept
            ctx.session[content.PERSO_BLOCK] = 0
        response = super().dispatch(ctx, sc, apdu)
        self.__dict__["_perso"] = ctx.session.get(content.PERSO_TARGET)
        return response


class DeleteAppIgnored(_ManageFault):
    """DELETE of an application answers 9000 and deletes nothing."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xE4 and apdu.data[:1] == b"\x4f" and apdu.data[2:] in ctx.card.registry:
            return reply(SW.OK, b"\x00")
        return None


class DeleteUnknownOk(_ManageFault):
    """DELETE of an AID the card does not hold answers 9000."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xE4 and apdu.data[:1] == b"\x4f":
            aid = apdu.data[2:]
            if aid not in ctx.card.registry and aid.hex().upper() not in self.data["elfs"]:
                return reply(SW.OK, b"\x00")
        return None


class DeleteRelatedLeavesElf(_ManageFault):
    """DELETE of a load file with related objects deletes its applications but leaves the load file."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        elf = apdu.data[2:].hex().upper()
        if apdu.ins == 0xE4 and apdu.p2 == 0x80 and elf in self.data["elfs"]:
            meta = self.data["elfs"][elf]
            response = content.manage(self, ctx, apdu)
            self.data["elfs"][elf] = meta
            return response
        return None


# -- GP-CM-05: command chaining ------------------------------------------------------------------------------


class NoInstallChaining(_ManageFault):
    """INSTALL chaining is claimed but a chained INSTALL is answered 6A86."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        return reply(SW.INCORRECT_P1P2) if apdu.ins == 0xE6 and apdu.p1 & 0x80 else None


class InstallB8Ignored(_ManageFault):
    """Ignores P1 b8 of INSTALL: each command of a chain is processed as a whole INSTALL."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xE6 and apdu.p1 & 0x80:
            plain = CommandApdu(apdu.cla, apdu.ins, apdu.p1 & 0x7F, apdu.p2, apdu.data, apdu.ne)
            return content.manage(self, ctx, plain)
        return None


class NoPutKeyChaining(IssuerSecurityDomain):
    """PUT KEY chaining is claimed but a chained PUT KEY is answered 6A86."""

    def put_key(self, apdu: CommandApdu, ctx: Context | None = None) -> ResponseApdu:
        return reply(SW.INCORRECT_P1P2) if apdu.p1 & 0x80 else super().put_key(apdu, ctx)


class PutKeyB8Ignored(IssuerSecurityDomain):
    """Ignores P1 b8 of PUT KEY: each command of a chain is processed as a whole PUT KEY."""

    def put_key(self, apdu: CommandApdu, ctx: Context | None = None) -> ResponseApdu:
        plain = CommandApdu(apdu.cla, apdu.ins, apdu.p1 & 0x7F, apdu.p2, apdu.data, apdu.ne)
        return super().put_key(plain, None)


class PutKeyChainSurvivesRefusal(IssuerSecurityDomain):
    """Keeps a PUT KEY chain on the ISD, not in the session: a refused command, a new session and a new
    chain carry on the old one."""

    def put_key(self, apdu: CommandApdu, ctx: Context | None = None) -> ResponseApdu:
        if ctx is None:
            return super().put_key(apdu, ctx)
        kept = Context(ctx.card, ctx.channel, self.__dict__.setdefault("_chains", {}))
        return super().put_key(apdu, kept)


class StoreDataDropsFirstBlock(IssuerSecurityDomain):
    """STORE DATA blocks that are not the last are acknowledged but never reach the application."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xE2 and ctx.session.get(content.PERSO_TARGET) and not apdu.p1 & 0x80:
            ctx.session[content.PERSO_BLOCK] = apdu.p2 + 1
            return reply()
        return super().dispatch(ctx, sc, apdu)


class StoreDataChain6A86(IssuerSecurityDomain):
    """Multi-block STORE DATA is claimed but a block that is not the last is answered 6A86."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xE2 and ctx.session.get(content.PERSO_TARGET) and not apdu.p1 & 0x80:
            return reply(SW.INCORRECT_P1P2)
        return super().dispatch(ctx, sc, apdu)


# -- GP-CM-06: GET STATUS with a tag list --------------------------------------------------------------------


class _TagListFault(IssuerSecurityDomain):
    def tag_list(self, value: bytes) -> bytes | None:
        return value

    def listed(self, data: bytes) -> bytes:
        return data

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins != 0xF2:
            return super().dispatch(ctx, sc, apdu)
        items = decode(apdu.data)
        tag_list = next((t for t in items if t.tag == 0x5C), None)
        if tag_list is None:
            return super().dispatch(ctx, sc, apdu)
        value = self.tag_list(tag_list.value)
        if value is None:
            return reply(SW.WRONG_DATA)
        data = b"".join((Tlv(0x5C, value) if t.tag == 0x5C else t).encode() for t in items)
        response = super().dispatch(ctx, sc, CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, data, apdu.ne))
        return ResponseApdu(self.listed(response.data), response.sw) if response.data else response


class TagListIgnored(_TagListFault):
    """The tag list is ignored: the entries hold every data object."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xF2:
            data = b"".join(t.encode() for t in decode(apdu.data) if t.tag != 0x5C)
            apdu = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, data, apdu.ne)
        return super().dispatch(ctx, sc, apdu)


class TagListFirstTagOnly(_TagListFault):
    """Only the first tag of the tag list is honoured."""

    def tag_list(self, value: bytes) -> bytes | None:
        return value[:1]


class TagListRefused(_TagListFault):
    """The tag list is claimed but GET STATUS with one answers 6A80."""

    def tag_list(self, value: bytes) -> bytes | None:
        return None


class TagListLifeCycleLies(_TagListFault):
    """With a tag list, 9F70 is always 07 (SELECTABLE), whatever the life cycle."""

    def listed(self, data: bytes) -> bytes:
        out = b""
        for e3 in decode(data):
            items = [Tlv(0x9F70, b"\x07") if t.tag == 0x9F70 else t for t in decode(e3.value)]
            out += Tlv(0xE3, b"".join(t.encode() for t in items)).encode()
        return out


class TagListOneEntry(_TagListFault):
    """With a tag list, only the first entry is returned."""

    def listed(self, data: bytes) -> bytes:
        return decode(data)[0].encode()


# -- GP-KEY-01: DELETE of keys -------------------------------------------------------------------------------


def _is_key_delete(apdu: CommandApdu) -> bool:
    return apdu.ins == 0xE4 and apdu.data[:1] in (b"\xd0", b"\xd2")


class DeleteKeyIgnored(_ManageFault):
    """DELETE [key] answers 9000 and deletes nothing."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        return reply(SW.OK, b"\x00") if _is_key_delete(apdu) else None


class DeleteKeyStaleInfo(IssuerSecurityDomain):
    """Deletes the key set, but the key information template (E0) goes on listing it."""

    def manage(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _is_key_delete(apdu):
            ghosts = self.__dict__.setdefault("_ghosts", {})
            for t in decode(apdu.data):
                if t.tag == 0xD2 and f"{t.value[0]:02X}" in self.data["keysets"]:
                    ghosts[f"{t.value[0]:02X}"] = dict(self.data["keysets"][f"{t.value[0]:02X}"])
        return super().manage(ctx, apdu)

    def data_object(self, ctx: Context, tag: int) -> bytes | None:
        value = super().data_object(ctx, tag)
        if tag == 0xE0 and value is not None:
            for kvn, entry in self.__dict__.get("_ghosts", {}).items():
                if kvn not in self.data["keysets"]:
                    length = len(bytes.fromhex(entry["enc"]))
                    value += b"".join(
                        Tlv(0xC0, bytes((k, int(kvn, 16), 0x88, length))).encode() for k in (1, 2, 3)
                    )
        return value


class DeleteAbsentKeyOk(_ManageFault):
    """DELETE [key] of a key version the card does not hold answers 9000."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if _is_key_delete(apdu):
            kvn = next((t.value for t in decode(apdu.data) if t.tag == 0xD2), b"")
            if len(kvn) == 1 and f"{kvn[0]:02X}" not in self.data["keysets"]:
                return reply(SW.OK, b"\x00")
        return None


class DeleteKidDeletesSet(_ManageFault):
    """DELETE [key] with D0 and D2 deletes the whole key version, not the one key."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if _is_key_delete(apdu):
            data = b"".join(t.encode() for t in decode(apdu.data) if t.tag != 0xD0)
            return content.manage(self, ctx, CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, data, apdu.ne))
        return None


class DeleteKeysUnsupported(_ManageFault):
    """DELETE of keys is claimed but answered 6A80."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        return reply(SW.WRONG_DATA) if _is_key_delete(apdu) else None


class PutKeyKcvLies(IssuerSecurityDomain):
    """PUT KEY stores the keys but answers key check values of zeros."""

    def put_key(self, apdu: CommandApdu, ctx: Context | None = None) -> ResponseApdu:
        response = super().put_key(apdu, ctx)
        if response.ok and len(response.data) == 10:
            return ResponseApdu(response.data[:1] + bytes(9), response.sw)
        return response


# -- GP-LC-01 .. GP-LC-04: life cycles -----------------------------------------------------------------------


class LockInRam(Card):
    """Application locks are lost at power-up."""

    def power_on(self) -> bytes:
        for entry in self.registry.values():
            entry.life_cycle &= 0x7F
        return super().power_on()


class UnlockToPersonalized(_ManageFault):
    """Unlocking an application sets it PERSONALIZED (0F), not back to its previous state."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        entry = ctx.card.registry.get(apdu.data) if apdu.ins == 0xF0 and apdu.p1 == 0x40 else None
        if entry is not None and apdu.p2 == 0x00 and entry.life_cycle & 0x80:
            entry.life_cycle = 0x0F
            return reply()
        return None


class LockListedButSelectable(Card):
    """A LOCKED application is listed as locked but SELECT still reaches it."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        entry = self.registry.get(apdu.data)
        if entry is None or not entry.life_cycle & 0x80:
            return super()._select_by_name(channel, apdu)
        state = entry.life_cycle
        entry.life_cycle &= 0x7F
        try:
            return super()._select_by_name(channel, apdu)
        finally:
            entry.life_cycle = state


class DoubleLockAccepted(_ManageFault):
    """Locking an application that is already LOCKED answers 9000."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        entry = ctx.card.registry.get(apdu.data) if apdu.ins == 0xF0 and apdu.p1 == 0x40 else None
        if entry is not None and apdu.p2 & 0x80 and entry.life_cycle & 0x80:
            return reply()
        return None


class UnlockUnlockedAccepted(_ManageFault):
    """Unlocking an application that is not locked answers 9000."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        entry = ctx.card.registry.get(apdu.data) if apdu.ins == 0xF0 and apdu.p1 == 0x40 else None
        if entry is not None and not apdu.p2 & 0x80 and not entry.life_cycle & 0x80:
            return reply()
        return None


class RefusedTransitionChangesState(_ManageFault):
    """Refuses an illegal card life-cycle transition, but makes it all the same."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xF0 and apdu.p1 == 0x80:
            response = content.manage(self, ctx, apdu)
            ctx.card.life_cycle = apdu.p2
            return response
        return None


class SameStateAccepted(_ManageFault):
    """A transition of the card to its current life cycle answers 9000."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xF0 and apdu.p1 == 0x80 and apdu.p2 == ctx.card.life_cycle:
            return reply()
        return None


class LockedCard6A82(Card):
    """SELECT on a CARD_LOCKED card answers 6A82 (not found), not 6A81."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        return reply(SW.FILE_NOT_FOUND) if response.sw == SW.FUNCTION_NOT_SUPPORTED else response


class CardLockBasicChannelOnly(Card):
    """The card lock is checked on the basic channel only: a logical channel selects any application."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if channel.number == 0 or self.life_cycle != 0x7F:
            return super()._select_by_name(channel, apdu)
        self.life_cycle = 0x0F
        try:
            return super()._select_by_name(channel, apdu)
        finally:
            self.life_cycle = 0x7F


class _LifeCycleInRam(Card):
    lost = 0x7F

    def power_on(self) -> bytes:
        if self.life_cycle == self.lost:
            self.life_cycle = 0x0F
        return super().power_on()


class CardLockInRam(_LifeCycleInRam):
    """CARD_LOCKED is lost at power-up: the card is SECURED again."""


class TerminatedInRam(_LifeCycleInRam):
    """TERMINATED is lost at power-up: the card is SECURED again."""

    lost = 0xFF


class Terminated6A82(Card):
    """SELECT on a TERMINATED card answers 6A82 (not found), not 6A81 as on a locked card."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        if self.life_cycle == 0xFF and response.sw == SW.FUNCTION_NOT_SUPPORTED:
            return reply(SW.FILE_NOT_FOUND)
        return response


class TerminatedIsdUnselectable(Card):
    """On a TERMINATED card not even the ISD can be selected (so its GET DATA is gone too)."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if self.life_cycle == 0xFF:
            return reply(SW.FUNCTION_NOT_SUPPORTED)
        return super()._select_by_name(channel, apdu)


class LockedIsdUnselectable(Card):
    """On a CARD_LOCKED card not even the ISD can be selected."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if self.life_cycle == 0x7F:
            return reply(SW.FUNCTION_NOT_SUPPORTED)
        return super()._select_by_name(channel, apdu)


class CardUnlockRefused(_ManageFault):
    """CARD_LOCKED -> SECURED is refused."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xF0 and apdu.p1 == 0x80 and apdu.p2 == 0x0F and ctx.card.life_cycle == 0x7F:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        return None


class TerminateIgnored(_ManageFault):
    """SET STATUS TERMINATED answers 9000 and changes nothing."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        return reply() if apdu.ins == 0xF0 and apdu.p1 == 0x80 and apdu.p2 == 0xFF else None


class TerminatedStillAuthenticates(IssuerSecurityDomain):
    """A TERMINATED card still answers INITIALIZE UPDATE, so a secure channel opens."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if ctx.card.life_cycle != 0xFF or apdu.ins not in (0x50, 0x82):
            return super().process(ctx, apdu)
        ctx.card.life_cycle = 0x0F
        try:
            return super().process(ctx, apdu)
        finally:
            ctx.card.life_cycle = 0xFF


class TerminateOnlyFromSecured(_ManageFault):
    """CARD_LOCKED -> TERMINATED is refused (any state may go to TERMINATED, GPCS §5.1)."""

    def fault(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        if apdu.ins == 0xF0 and apdu.p1 == 0x80 and apdu.p2 == 0xFF and ctx.card.life_cycle == 0x7F:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        return None


# -- factories of the catalogue ------------------------------------------------------------------------------

cdec_counter_skips_empty = _channel(CdecCounterSkipsEmpty)
no_aes192 = _isd(NoAes192)
no_s16 = _isd(NoS16)
r_enc_icv_without_80 = _channel(REncIcvWithout80)
r_mac_without_sw = _channel(RMacWithoutSw)
host_cryptogram_prefix = _channel(HostCryptogramPrefix)
ea_wrong_sw = _channel(EaWrongSw)
ea_retry = _channel(EaRetry)
session_after_6300 = _channel(SessionAfter6300)
mac_prefix_4 = _channel(MacPrefix4)
s16_mac_8 = _channel(S16Mac8)
bad_mac_answered_9000 = _channel(BadMacAnswered9000)
mac_window = _channel(MacWindow)
replay_from_cache = _channel(ReplayFromCache)
plain_refused_no_abort = _channel(PlainRefusedNoAbort)
cdec_skips_short_data = _channel(CdecSkipsShortData)
cdec_error_no_abort = _channel(CdecErrorNoAbort)
kvn_low_bits = _isd(KvnLowBits)
unknown_kvn_6a86 = _isd(UnknownKvn6A86)
handshake_survives_commands = _channel(HandshakeSurvivesCommands)
handshake_survives_select = _isd(HandshakeSurvivesSelect)
random_challenge_despite_i = _isd(RandomChallengeDespiteI)
counter_plus_two = _isd(CounterPlusTwo)
counters_in_ram = _card_of(CountersInRam)
challenge_from_previous_counter = _channel(ChallengeFromPreviousCounter)
random_despite_pseudo_random_claim = _channel(RandomDespitePseudoRandomClaim)
constant_challenge = _with(RandomClaimIsd, ConstantChallenge)
exhausted_at_once = _isd(ExhaustedAtOnce)
exhaustion_blocks_all = _isd(ExhaustionBlocksAll)
exhausted_6a88 = _isd(Exhausted6A88)
apsd_falls_back_to_isd = _apsd(ApsdFallsBackToIsd)
apsd_shared_counter = _apsd(ApsdSharedCounter)
apsd_challenge_over_isd_aid = _apsd(ApsdChallengeOverIsdAid)
session_survives_select = _isd(SessionSurvivesSelect)
session_survives_reset = _card_of(SessionSurvivesReset)
one_session_per_sd = _isd(OneSessionPerSd)
session_survives_channel_close = _isd(SessionSurvivesChannelClose)
r_mac_on_errors = _channel(RMacOnErrors)
error_aborts_session = _channel(ErrorAbortsSession)
chain_kept_on_error = _channel(ChainKeptOnError)
ext_lc_mac_one_byte = _channel(ExtLcMacOneByte)
no_extended_in_session = _channel(NoExtendedInSession)
lc_255_refused = _channel(Lc255Refused)
unpad_at_first_80 = _channel(UnpadAtFirst80)
unpad_strips_trailing = _channel(UnpadStripsTrailing)
cplc_41 = _isd(Cplc41)
key_info_length_lies = _isd(KeyInfoLengthLies)
key_info_missing_dek = _isd(KeyInfoMissingDek)
key_info_des = _isd(KeyInfoDes)
scp02_oid = _isd(Scp02Oid)
crd_no_template = _isd(CrdNoTemplate)
elf_not_listed = _isd(ElfNotListed)
status_without_life_cycle = _isd(StatusWithoutLifeCycle)
status_says_selectable = _isd(StatusSaysSelectable)
install_always_selectable = _isd(InstallAlwaysSelectable)
installed_selectable = _card_of(InstalledSelectable)
perso_ignores_last_block = _isd(PersoIgnoresLastBlock)
perso_survives_reselect = _isd(PersoSurvivesReselect)
delete_app_ignored = _isd(DeleteAppIgnored)
delete_unknown_ok = _isd(DeleteUnknownOk)
delete_related_leaves_elf = _isd(DeleteRelatedLeavesElf)
no_install_chaining = _isd(NoInstallChaining)
install_b8_ignored = _isd(InstallB8Ignored)
no_put_key_chaining = _isd(NoPutKeyChaining)
put_key_b8_ignored = _isd(PutKeyB8Ignored)
put_key_chain_survives_refusal = _isd(PutKeyChainSurvivesRefusal)
store_data_drops_first_block = _isd(StoreDataDropsFirstBlock)
store_data_chain_6a86 = _isd(StoreDataChain6A86)
tag_list_ignored = _isd(TagListIgnored)
tag_list_first_tag_only = _isd(TagListFirstTagOnly)
tag_list_refused = _isd(TagListRefused)
tag_list_life_cycle_lies = _isd(TagListLifeCycleLies)
tag_list_one_entry = _isd(TagListOneEntry)
delete_key_ignored = _isd(DeleteKeyIgnored)
delete_key_stale_info = _isd(DeleteKeyStaleInfo)
delete_absent_key_ok = _isd(DeleteAbsentKeyOk)
delete_kid_deletes_set = _isd(DeleteKidDeletesSet)
delete_keys_unsupported = _isd(DeleteKeysUnsupported)
put_key_kcv_lies = _isd(PutKeyKcvLies)
lock_in_ram = _card_of(LockInRam)
unlock_to_personalized = _isd(UnlockToPersonalized)
lock_listed_but_selectable = _card_of(LockListedButSelectable)
double_lock_accepted = _isd(DoubleLockAccepted)
unlock_unlocked_accepted = _isd(UnlockUnlockedAccepted)
refused_transition_changes_state = _isd(RefusedTransitionChangesState)
same_state_accepted = _isd(SameStateAccepted)
locked_card_6a82 = _card_of(LockedCard6A82)
card_lock_basic_channel_only = _card_of(CardLockBasicChannelOnly)
card_lock_in_ram = _card_of(CardLockInRam)
terminated_in_ram = _card_of(TerminatedInRam)
terminated_6a82 = _card_of(Terminated6A82)
terminated_isd_unselectable = _card_of(TerminatedIsdUnselectable)
locked_isd_unselectable = _card_of(LockedIsdUnselectable)
card_unlock_refused = _isd(CardUnlockRefused)
terminate_ignored = _isd(TerminateIgnored)
terminated_still_authenticates = _isd(TerminatedStillAuthenticates)
terminate_only_from_secured = _isd(TerminateOnlyFromSecured)
