"""Deliberately non-conforming ARA-Ms, one fault each, to show every ARA-M conformance test can fail.

Each is a card factory ``(personality, state) -> card`` for a profile's ``ixit.transport.factory``: the
reference card with its ARA-M replaced by a faulty subclass (not registered, so state files are unaffected).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jpkikit.errors import TlvError
from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.aram import NEXT_KEY, SCP_KEY, AraM
from jpkikit.reference.emulator.gp.secure_channel import CardSecureChannel
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv, decode_one


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


#: The premise of a short rule set (fault aram/short-set-no-next): one rule, the JPKI AID for every app, 26
#: bytes as FF40 - within one 32-byte chunk; the fault's ics names it as ics.aram.rules.
SHORT_RULE = {"aid": "D392F000260100000001", "hash": "", "apdu": "always"}


def short_set_no_next(personality: str, state: Path | None = None) -> Card:
    """GET DATA [Next] is not implemented, on an ARA-M whose rule set fits one 32-byte response."""
    card = _card_with(NoNext)(personality, state)
    card.registry[seac.ARAM_AID].applet.replace_rules([seac.rule_from_json(SHORT_RULE)])
    return card


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


# ============================================================================================================
# The fault catalogue of issue 12 (tests/faults/aram.yaml): one change each, by the requirement they break.
# ============================================================================================================


def _card_class(cls: type[Card]) -> Callable[[str, Path | None], Card]:
    def factory(personality: str, state: Path | None = None) -> Card:
        return cls(get_personality(personality or "gp-se"), state)

    return factory


def _aram_of(card: Card) -> AraM:
    return card.registry[seac.ARAM_AID].applet  # type: ignore[return-value]


def _tag(apdu: CommandApdu) -> int:
    return apdu.p1 << 8 | apdu.p2


def _header(length: int) -> bytes:
    """The tag and length field of an FF40 DO announcing ``length`` value bytes."""
    return Tlv(seac.T_ALL, bytes(length)).encode()[: -length or None]


def _all_of(rules_hex: list[str]) -> bytes:
    return Tlv(seac.T_ALL, bytes.fromhex("".join(rules_hex))).encode()


# -- ARAM-ALL-01 ------------------------------------------------------------------------------------------


class _AllFault(AraM):
    """Changes the FF40 body [All] answers with."""

    def body(self) -> bytes:
        return _all_of(self.data["rules"])

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _tag(apdu) == seac.T_ALL and not apdu.data:
            return self._first_chunk(ctx, apdu, self.body())
        return super().get_data(ctx, apdu)


class ExtraRule(_AllFault):
    """[All] also returns a rule the ARA-M was never given (a test rule left behind)."""

    def body(self) -> bytes:
        left = seac.Rule(seac.RefDo("all", b"\xee" * 20), seac.ArDo("always", True)).encode().hex()
        return _all_of([*self.data["rules"], left])


class Sha256RulesDropped(_AllFault):
    """[All] leaves out the rules with a SHA-256 (32-byte) app hash, as a SEAC v1.0-only ARA-M would."""

    def body(self) -> bytes:
        kept = [h for h, r in zip(self.data["rules"], self.rules(), strict=True) if len(r.ref.hash) != 32]
        return _all_of(kept)


class MalformedRefAr(_AllFault):
    """The first REF-AR-DO of [All] lacks its AR-DO (E3)."""

    def body(self) -> bytes:
        rules = self.rules()
        if not rules:
            return _all_of([])
        broken = Tlv(seac.T_REF_AR, rules[0].ref.encode()).encode().hex()
        return _all_of([broken, *self.data["rules"][1:]])


class Ff40LengthShort(_AllFault):
    """The length field of FF40 announces one byte less than the rules it holds."""

    def body(self) -> bytes:
        value = bytes.fromhex("".join(self.data["rules"]))
        return _header(len(value) - 1) + value


class AramBasicChannelOnly(AraM):
    """The ARA-M can be selected on the basic channel only."""

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply(SW.FUNCTION_NOT_SUPPORTED) if ctx.channel else super().select(ctx, apdu)


# -- ARAM-NEXT-01 -----------------------------------------------------------------------------------------


class NextRepeats(AraM):
    """The first GET DATA [Next] after [All] returns the chunk [All] returned once more."""

    def _first_chunk(self, ctx: Context, apdu: CommandApdu, body: bytes) -> ResponseApdu:
        if _tag(apdu) == 0xFF60 and ctx.session.pop("aram.repeat", None) is not None:
            return reply(SW.OK, ctx.session.pop("aram.last", b""))
        response = super()._first_chunk(ctx, apdu, body)
        if _tag(apdu) == seac.T_ALL:
            ctx.session["aram.repeat"] = True
            ctx.session["aram.last"] = response.data
        return response


class NextSkipsByte(AraM):
    """Every GET DATA [Next] skips one byte of what is left (an off-by-one pointer)."""

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _tag(apdu) == 0xFF60 and ctx.session.get(NEXT_KEY):
            ctx.session[NEXT_KEY] = ctx.session[NEXT_KEY][1:]
        return super().get_data(ctx, apdu)


class AllIgnoresLe(AraM):
    """[All] puts the whole rule set in one response whatever Le, and keeps nothing for [Next]."""

    def _first_chunk(self, ctx: Context, apdu: CommandApdu, body: bytes) -> ResponseApdu:
        ctx.session.pop(NEXT_KEY, None)
        return reply(SW.OK, body)


class Ff40LengthOfChunk(AraM):
    """When the rules do not fit one response, the FF40 length field gives the first chunk's length."""

    def _first_chunk(self, ctx: Context, apdu: CommandApdu, body: bytes) -> ResponseApdu:
        size = min(apdu.ne or 256, self.chunk)
        if _tag(apdu) == seac.T_ALL and len(body) > size:
            value = decode_one(body)[0].value
            body = _header(size - (len(body) - len(value))) + value
        return super()._first_chunk(ctx, apdu, body)


# -- ARAM-SPEC-01 -----------------------------------------------------------------------------------------


class _SpecificFault(AraM):
    def ref_of(self, apdu: CommandApdu) -> seac.RefDo | None:
        try:
            tlv, _ = decode_one(apdu.data)
            return seac.decode_ref(tlv.value)
        except TlvError:
            return None


class SpecificWholeRefAr(_SpecificFault):
    """[Specific] answers FF50 with the whole REF-AR-DO (E2), not the AR-DO (E3)."""

    def _specific(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        ref = self.ref_of(apdu)
        found = [r.encode() for r in self.rules() if r.ref == ref]
        return reply(SW.OK, Tlv(seac.T_SPECIFIC, found[0] if found else b"").encode())


class SpecificHashPrefix(_SpecificFault):
    """[Specific] compares only the first 8 bytes of the app hash."""

    def _specific(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        ref = self.ref_of(apdu)
        if ref is None:
            return super()._specific(ctx, apdu)
        found = [
            r.ar.encode()
            for r in self.rules()
            if r.ref.aid == ref.aid and len(r.ref.hash) == len(ref.hash) and r.ref.hash[:8] == ref.hash[:8]
        ]
        return reply(SW.OK, Tlv(seac.T_SPECIFIC, found[0] if found else b"").encode())


class SpecificSha256Unsupported(_SpecificFault):
    """[Specific] with a SHA-256 (32-byte) app hash answers 6A80."""

    def _specific(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        ref = self.ref_of(apdu)
        if ref is not None and len(ref.hash) == 32:
            return reply(SW.WRONG_DATA)
        return super()._specific(ctx, apdu)


class SpecificUnknown9000Empty(_SpecificFault):
    """[Specific] for a REF-DO without a rule answers 9000 with no data (neither FF50 00 nor 6A88)."""

    def _specific(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super()._specific(ctx, apdu)
        return reply() if response.data == Tlv(seac.T_SPECIFIC, b"").encode() else response


# -- ARAM-REF-01 ------------------------------------------------------------------------------------------


class RefreshTag7Bytes(AraM):
    """The refresh tag is answered with 7 bytes."""

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _tag(apdu) == seac.T_REFRESH:
            return reply(SW.OK, Tlv(seac.T_REFRESH, bytes.fromhex(self.data["refresh"])[:7]).encode())
        return super().get_data(ctx, apdu)


class RefreshTagPerChannel(AraM):
    """The refresh tag differs from one logical channel to another."""

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _tag(apdu) == seac.T_REFRESH:
            tag = bytearray.fromhex(self.data["refresh"])
            tag[-1] ^= ctx.channel
            return reply(SW.OK, Tlv(seac.T_REFRESH, bytes(tag)).encode())
        return super().get_data(ctx, apdu)


class RefreshTagInRam(Card):
    """The ARA-M's refresh tag lives in RAM: every power-up draws a new one although no rule changed."""

    def power_on(self) -> bytes:
        entry = self.registry.get(seac.ARAM_AID)
        if entry is not None:
            entry.applet._changed()  # type: ignore[attr-defined]
        return super().power_on()


# -- ARAM-STO-01 ------------------------------------------------------------------------------------------


def _command_tag(apdu: CommandApdu) -> int | None:
    try:
        return decode_one(apdu.data)[0].tag
    except TlvError:
        return None


class DeleteIgnored(AraM):
    """STORE DATA Command-Delete (F1) answers 9000 and deletes nothing."""

    def store_data(self, apdu: CommandApdu) -> ResponseApdu:
        return reply() if _command_tag(apdu) == seac.T_CMD_DELETE else super().store_data(apdu)


class StoreIgnored(AraM):
    """STORE DATA Command-Store (F0) answers 9000 and stores nothing."""

    def store_data(self, apdu: CommandApdu) -> ResponseApdu:
        return reply() if _command_tag(apdu) == seac.T_CMD_STORE else super().store_data(apdu)


class DeleteRemovesAidRules(AraM):
    """Command-Delete of one rule removes every rule of its AID, the declared ones too."""

    def store_data(self, apdu: CommandApdu) -> ResponseApdu:
        if _command_tag(apdu) == seac.T_CMD_DELETE:
            value = decode_one(apdu.data)[0].value
            if value and decode_one(value)[0].tag == seac.T_REF_AR:
                aid = seac.decode_rule(decode_one(value)[0]).ref.aid
                aid_do = Tlv(seac.T_AID, aid if isinstance(aid, bytes) else b"").encode()
                apdu = CommandApdu(
                    apdu.cla, apdu.ins, apdu.p1, apdu.p2, Tlv(seac.T_CMD_DELETE, aid_do).encode()
                )
        return super().store_data(apdu)


class RefreshTagUnchangedOnDelete(AraM):
    """Deleting a rule leaves the refresh tag as it was."""

    def store_data(self, apdu: CommandApdu) -> ResponseApdu:
        tag = self.data["refresh"]
        response = super().store_data(apdu)
        if _command_tag(apdu) == seac.T_CMD_DELETE:
            self.data["refresh"] = tag
        return response


class RulesInRam(Card):
    """The ARA-M's rules live in RAM: at power-up it holds the rules it was issued with again."""

    def power_on(self) -> bytes:
        entry = self.registry.get(seac.ARAM_AID)
        if entry is not None and hasattr(self, "_issued"):
            entry.applet.data["rules"] = list(self._issued)
        elif entry is not None:
            self._issued = list(entry.applet.data["rules"])
        return super().power_on()


# -- ARAM-STO-02 ------------------------------------------------------------------------------------------


class StoreRefusedButKept(AraM):
    """Refuses STORE DATA outside a secure channel with 6982, but stores the rule all the same."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel | None, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xE2 and (sc is None or not sc.authenticated):
            self.store_data(apdu)
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)
        return super().dispatch(ctx, sc, apdu)


class StoreRefusedWrongSw(AraM):
    """Refuses STORE DATA outside a secure channel with 6985 instead of 6982."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel | None, apdu: CommandApdu) -> ResponseApdu:
        response = super().dispatch(ctx, sc, apdu)
        if apdu.ins == 0xE2 and response.sw == SW.SECURITY_STATUS_NOT_SATISFIED:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        return response


class StoreAnyChannelSession(AraM):
    """Accepts STORE DATA on a channel without a session when a session is open on another channel."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel | None, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xE2 and (sc is None or not sc.authenticated):
            others = [ch.session.get(SCP_KEY) for ch in ctx.card.channels.values()]
            if any(o is not None and o.authenticated for o in others):
                return self.store_data(apdu)
        return super().dispatch(ctx, sc, apdu)


class RefreshTagChangedOnRefused(AraM):
    """A refused STORE DATA still draws a new refresh tag."""

    def dispatch(self, ctx: Context, sc: CardSecureChannel | None, apdu: CommandApdu) -> ResponseApdu:
        response = super().dispatch(ctx, sc, apdu)
        if apdu.ins == 0xE2 and not response.ok:
            self._changed()
        return response


# -- ARAM-CFG-01 ------------------------------------------------------------------------------------------


def _version(aram: AraM) -> bytes:
    return bytes.fromhex(str(aram.params.get("version", "010100")))


class ConfigWithoutE5(AraM):
    """[Config] answers DF21 {E6 ...} without the ARA-M-Config-DO E5."""

    def _config(self, apdu: CommandApdu) -> ResponseApdu:
        return reply(SW.OK, Tlv(seac.T_CONFIG, Tlv(seac.T_VERSION, _version(self)).encode()).encode())


class ConfigVersion2Bytes(AraM):
    """[Config] gives a 2-byte version (major minor) instead of 3."""

    def _config(self, apdu: CommandApdu) -> ResponseApdu:
        inner = Tlv(seac.T_ARAM_CONFIG, Tlv(seac.T_VERSION, _version(self)[:2]).encode())
        return reply(SW.OK, Tlv(seac.T_CONFIG, inner.encode()).encode())


class ConfigTrailingByte(AraM):
    """[Config] answers DF21 followed by a stray 00 byte."""

    def _config(self, apdu: CommandApdu) -> ResponseApdu:
        response = super()._config(apdu)
        return reply(response.sw, response.data + b"\x00")


extra_rule = _card_with(ExtraRule)
sha256_rules_dropped = _card_with(Sha256RulesDropped)
malformed_ref_ar = _card_with(MalformedRefAr)
ff40_length_short = _card_with(Ff40LengthShort)
aram_basic_channel_only = _card_with(AramBasicChannelOnly)
next_repeats = _card_with(NextRepeats)
next_skips_byte = _card_with(NextSkipsByte)
all_ignores_le = _card_with(AllIgnoresLe)
ff40_length_of_chunk = _card_with(Ff40LengthOfChunk)
specific_whole_ref_ar = _card_with(SpecificWholeRefAr)
specific_hash_prefix = _card_with(SpecificHashPrefix)
specific_sha256_unsupported = _card_with(SpecificSha256Unsupported)
specific_unknown_9000_empty = _card_with(SpecificUnknown9000Empty)
refresh_tag_7_bytes = _card_with(RefreshTag7Bytes)
refresh_tag_per_channel = _card_with(RefreshTagPerChannel)
refresh_tag_in_ram = _card_class(RefreshTagInRam)
delete_ignored = _card_with(DeleteIgnored)
store_ignored = _card_with(StoreIgnored)
delete_removes_aid_rules = _card_with(DeleteRemovesAidRules)
refresh_tag_unchanged_on_delete = _card_with(RefreshTagUnchangedOnDelete)
rules_in_ram = _card_class(RulesInRam)
store_refused_but_kept = _card_with(StoreRefusedButKept)
store_refused_wrong_sw = _card_with(StoreRefusedWrongSw)
store_any_channel_session = _card_with(StoreAnyChannelSession)
refresh_tag_changed_on_refused = _card_with(RefreshTagChangedOnRefused)
config_without_e5 = _card_with(ConfigWithoutE5)
config_version_2_bytes = _card_with(ConfigVersion2Bytes)
config_trailing_byte = _card_with(ConfigTrailingByte)
