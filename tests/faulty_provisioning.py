"""Deliberately non-conforming smartphone JPKI applets, one fault each, to show that every provisioning
conformance test (conformance/provisioning) can fail. Each is a factory ``(personality, state) -> card`` for
a profile's ``ixit.transport.factory``: the reference card whose JPKI applet type is a subclass of
:class:`JpkiPhoneApplet` that breaks one rule (also when the ISD installs the applet again)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.jpki import load_key
from jpkikit.reference.emulator.jpki_phone import CHIP_ID, JpkiPhoneApplet
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.reference.persona import load_persona
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.jpki.provisioning import CA_BIT, INS_COMMIT, INS_GET_SE_ID, INS_SET_TEMP_PIN, MORE_BLOCKS

# -- PROV-SCP-01 ------------------------------------------------------------------------------------------


class NoScpLevelCheck(JpkiPhoneApplet):
    """Accepts provisioning commands in a session at any level (PROV-SCP-01)."""

    def level_ok(self, level: int) -> bool:
        return True


class PlainAccepted(JpkiPhoneApplet):
    """Answers GET SE ID without any secure channel: it is "only an identifier" (PROV-SCP-01)."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla == 0x80 and apdu.ins == INS_GET_SE_ID:
            return self._get_se_id(ctx, apdu)
        return super().process(ctx, apdu)


class LevelOnlyForSeId(JpkiPhoneApplet):
    """Checks the session level for GET SE ID only; SET TEMPORARY PIN passes at any level (PROV-SCP-01)."""

    def _provisioning(self, ctx: Context, sd: Any, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == INS_SET_TEMP_PIN and sd is not None:
            sc = sd.channel(ctx)
            plain = sc.unwrap(apdu)
            if isinstance(plain, ResponseApdu):
                return plain
            if sc.authenticated:
                return sc.wrap(self._set_temp_pin(ctx, plain))
        return super()._provisioning(ctx, sd, apdu)


# -- PROV-KEY-01/02/03 ------------------------------------------------------------------------------------


class LyingR(JpkiPhoneApplet):
    """Answers GENERATE KEY with an R other than the one it committed to (PROV-KEY-01)."""

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        if slot is not None and slot.name in self.data["commit"]:
            self.data["commit"][slot.name] = os.urandom(32).hex()
        return super()._generate_key(ctx, apdu)


class FixedKey(JpkiPhoneApplet):
    """ "Generates" the same preloaded key every time: not a fresh on-chip key pair (PROV-KEY-01)."""

    def new_key(self) -> rsa.RSAPrivateKey:
        return load_persona().private_key("auth")


class FixedR(JpkiPhoneApplet):
    """Draws the same R for every commitment (a broken random source, PROV-KEY-01)."""

    def new_r(self) -> bytes:
        return bytes(range(32))


class NoCommitNeeded(JpkiPhoneApplet):
    """Generates a key without a commitment, drawing R then (PROV-KEY-01)."""

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        if slot is not None and slot.name not in self.data["commit"]:
            self.data["commit"][slot.name] = self.new_r().hex()
        return super()._generate_key(ctx, apdu)


class CommitInSession(JpkiPhoneApplet):
    """Keeps the pending R in the session, not in persistent memory: a reset loses it (PROV-KEY-01)."""

    def _commit(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        answer = super()._commit(ctx, apdu)
        slot = self._slot(apdu.p2)
        if slot is not None and answer.sw == SW.OK:
            ctx.session.setdefault("volatile_commit", {})[slot.name] = self.data["commit"].pop(slot.name)
        return answer

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        held = ctx.session.get("volatile_commit", {})
        if slot is not None and slot.name in held:
            self.data["commit"][slot.name] = held.pop(slot.name)
        return super()._generate_key(ctx, apdu)


class CommitNeedsScp(JpkiPhoneApplet):
    """Refuses COMMIT outside a secure channel: the app cannot get S (PROV-KEY-01)."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla & 0x80 and apdu.ins == INS_COMMIT and not cla_secure_messaging(apdu.cla):
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)
        return super().process(ctx, apdu)


class CommitReusable(JpkiPhoneApplet):
    """Keeps the commitment after a generation: one S, many key pairs (PROV-KEY-03)."""

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        kept = dict(self.data["commit"])
        response = super()._generate_key(ctx, apdu)
        self.data["commit"].update(kept)
        return response


class CommitAnySlot(JpkiPhoneApplet):
    """Takes any slot's pending commitment for a generation (PROV-KEY-03)."""

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        pending = self.data["commit"]
        if slot is not None and slot.name not in pending and pending:
            pending[slot.name] = pending.pop(next(iter(pending)))
        return super()._generate_key(ctx, apdu)


class LeakyKey(JpkiPhoneApplet):
    """Sends a prime factor of the new key along with the public key (PROV-KEY-02)."""

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super()._generate_key(ctx, apdu)
        slot = self._slot(apdu.p2)
        if response.sw != SW.OK or slot is None:
            return response
        p = load_key(self.data["keys"][f"{slot.key:04X}"]).private_numbers().p
        return reply(SW.OK, response.data + Tlv(0xC1, p.to_bytes(128, "big")).encode())


class WrongPublicKey(JpkiPhoneApplet):
    """Keeps one key pair and reports the public key of another (PROV-KEY-02)."""

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super()._generate_key(ctx, apdu)
        slot = self._slot(apdu.p2)
        if response.sw == SW.OK and slot is not None:
            self.data["keys"][f"{slot.key:04X}"] = self.store_delivered_key(self.new_key())
        return response

    def certificate_matches(self, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> bool:
        return True


# -- PROV-CERT-01 -----------------------------------------------------------------------------------------


class CertNotStored(JpkiPhoneApplet):
    """Answers PUT CERTIFICATE 9000 and keeps the old certificate EF (PROV-CERT-01)."""

    def _put_certificate(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply()


class AnyCertificate(JpkiPhoneApplet):
    """Stores a certificate whatever public key it holds (PROV-CERT-01)."""

    def certificate_matches(self, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> bool:
        return True


class CaBitIgnored(JpkiPhoneApplet):
    """Treats the CA certificate as the slot's own certificate (PROV-CERT-01)."""

    def _put_certificate(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return super()._put_certificate(
            ctx, CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2 & ~CA_BIT, apdu.data)
        )


class StatusByteNotSet(JpkiPhoneApplet):
    """Stores the certificate but leaves EF 0008 saying absent (PROV-CERT-01)."""

    def _set_status_byte(self, slot: Any, present: bool) -> None:
        if not present:  # cleared on deletion, never set again
            super()._set_status_byte(slot, present)


class LastBlockOnly(JpkiPhoneApplet):
    """Keeps only the last block of a certificate sent in blocks (PROV-CERT-01)."""

    def _put_certificate(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 & MORE_BLOCKS:
            return reply()
        return super()._put_certificate(ctx, apdu)


# -- PROV-PIN-01/02/03 ------------------------------------------------------------------------------------


class BlockIgnored(JpkiPhoneApplet):
    """BLOCK PIN answers 9000 but the PIN stays usable (PROV-PIN-01)."""

    def _block_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply() if self._pin_of(apdu.p2) is not None else reply(SW.INCORRECT_P1P2)


class BlockedAnswers63C0(JpkiPhoneApplet):
    """A PIN blocked by BLOCK PIN answers VERIFY with 63C0 (a wrong PIN, no tries left), not 6984
    (PROV-PIN-01: the blocked state is one of its own, jpki-applet.md#pin-states-and-blocking)."""

    def blocked_sw(self) -> int:
        return 0x63C0


class TempPinReusable(JpkiPhoneApplet):
    """The temporary PIN stays valid after it was used (PROV-PIN-01)."""

    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        found = self._pin_record(ctx, apdu)
        saved = dict(found[1]) if isinstance(found, tuple) else None
        response = super()._reset_retry_counter(ctx, apdu)
        if saved is not None and response.sw == SW.OK and isinstance(found, tuple):
            found[1].update(temp=saved["temp"], temp_tries=saved["temp_tries"])
        return response


class AnyTempPinUnblocks(JpkiPhoneApplet):
    """Unblocks with whatever temporary PIN of the right length (PROV-PIN-01)."""

    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        found = self._pin_record(ctx, apdu)
        if isinstance(found, tuple) and found[1].get("temp"):
            length = len(bytes.fromhex(found[1]["temp"]))
            data = bytes.fromhex(found[1]["temp"]) + apdu.data[length:]
            apdu = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, data)
        return super()._reset_retry_counter(ctx, apdu)


class NewPinNotSet(JpkiPhoneApplet):
    """Answers the unblock 9000 and resets the counter, but keeps the old PIN value (PROV-PIN-01)."""

    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        found = self._pin_record(ctx, apdu)
        old = found[1].get("value") if isinstance(found, tuple) else None
        response = super()._reset_retry_counter(ctx, apdu)
        if response.sw == SW.OK and isinstance(found, tuple):
            found[1]["value"] = old or "0000"
        return response


class UnlimitedTempTries(JpkiPhoneApplet):
    """Never uses up the temporary PIN (PROV-PIN-02)."""

    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        found = self._pin_record(ctx, apdu)
        if isinstance(found, tuple) and found[1].get("temp"):
            found[1]["temp_tries"] = 3
        return super()._reset_retry_counter(ctx, apdu)


class TempTriesResetByReset(JpkiPhoneApplet):
    """Keeps the temporary PIN's try count in the session: a reset gives all the tries back (PROV-PIN-02)."""

    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        found = self._pin_record(ctx, apdu)
        if isinstance(found, tuple) and found[1].get("temp") and "temp-tried" not in ctx.session:
            found[1]["temp_tries"] = 3
        ctx.session["temp-tried"] = True
        return super()._reset_retry_counter(ctx, apdu)


class WrongTriesReported(JpkiPhoneApplet):
    """Reports one temporary-PIN try more than it has left (PROV-PIN-02)."""

    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super()._reset_retry_counter(ctx, apdu)
        if response.sw & 0xFFF0 == 0x63C0 and response.sw != 0x63CF:
            return reply(response.sw + 1)
        return response


class BlockWithoutTemp(JpkiPhoneApplet):
    """Blocks a PIN for which no temporary PIN is set: the user is locked out (PROV-PIN-03)."""

    def _block_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        record = self._pin_of(apdu.p2)
        if record is not None and not record.get("temp"):
            record["tries_left"] = 0
            return reply()
        return super()._block_pin(ctx, apdu)


class ShortTempPins(JpkiPhoneApplet):
    """Takes temporary PINs of at most 8 bytes (PROV-PIN-03: up to 16)."""

    def _set_temp_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if len(apdu.data) > 8:
            return reply(SW.WRONG_LENGTH)
        return super()._set_temp_pin(ctx, apdu)


# -- PROV-SEID-01/02 --------------------------------------------------------------------------------------


class RandomSeId(JpkiPhoneApplet):
    """A new SE identification ID on every read (PROV-SEID-01)."""

    def se_id(self, ctx: Context) -> bytes:
        return os.urandom(16)


class SeIdPerPowerUp(JpkiPhoneApplet):
    """Derives the SE ID from a value drawn at each power-up (PROV-SEID-01)."""

    def se_id(self, ctx: Context) -> bytes:
        if "jpkikit_power_id" not in ctx.card.channels[0].session:
            ctx.card.channels[0].session["jpkikit_power_id"] = os.urandom(16)
        return bytes(ctx.card.channels[0].session["jpkikit_power_id"])


class LongSeId(JpkiPhoneApplet):
    """An SE identification ID of 33 bytes (PROV-SEID-01: 1-32)."""

    def se_id(self, ctx: Context) -> bytes:
        return super().se_id(ctx) * 2 + b"\x00"


class AppletBoundSeId(JpkiPhoneApplet):
    """Keeps the SE ID in the applet instance: a new one at each installation (PROV-SEID-02)."""

    def se_id(self, ctx: Context) -> bytes:
        if CHIP_ID not in self.data:
            self.data[CHIP_ID] = os.urandom(16).hex()
        return bytes.fromhex(self.data[CHIP_ID])


# -- PROV-DEL-01 ------------------------------------------------------------------------------------------


class DeleteKeepsKey(JpkiPhoneApplet):
    """DELETE KEYS removes the certificates but leaves the private keys (PROV-DEL-01)."""

    def _delete_keys(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        keys = dict(self.data["keys"])
        response = super()._delete_keys(ctx, apdu)
        self.data["keys"].update(keys)
        return response


class DeleteKeepsCertificate(JpkiPhoneApplet):
    """DELETE KEYS leaves the certificate EFs readable (PROV-DEL-01)."""

    def _drop_certificate(self, slot: Any) -> None:
        self._set_status_byte(slot, False)


class DeleteChangesSeId(JpkiPhoneApplet):
    """DELETE KEYS also draws a new SE identification ID (PROV-DEL-01)."""

    def _delete_keys(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super()._delete_keys(ctx, apdu)
        from jpkikit.reference.emulator.gp.content import issuer

        isd = issuer(ctx)
        if isd is not None:
            isd.data[CHIP_ID] = os.urandom(16).hex().upper()
        return response


class DeleteAuthOnly(JpkiPhoneApplet):
    """DELETE KEYS of all slots deletes the auth slot only (PROV-DEL-01)."""

    def _delete_keys(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p2 == 0xFF:
            apdu = CommandApdu(apdu.cla, apdu.ins, apdu.p1, 0x01, apdu.data)
        return super()._delete_keys(ctx, apdu)


def _variant(cls: type[JpkiPhoneApplet]) -> Callable[[str | None, Path | None], Card]:
    def make(personality: str | None, state: Path | None) -> Card:
        base = get_personality(personality or "gp-se")
        types = {**base.applet_types, "jpki-phone": cls}
        card_class = getattr(base, "card_class", None) or Card
        card = card_class(replace(base, applet_types=types), state)
        card.registry[JPKI_AID].applet.__class__ = cls
        return card

    make.__name__ = cls.__name__
    return make


no_scp_level_check = _variant(NoScpLevelCheck)
plain_accepted = _variant(PlainAccepted)
level_only_for_se_id = _variant(LevelOnlyForSeId)
lying_r = _variant(LyingR)
fixed_key = _variant(FixedKey)
fixed_r = _variant(FixedR)
no_commit_needed = _variant(NoCommitNeeded)
commit_in_session = _variant(CommitInSession)
commit_needs_scp = _variant(CommitNeedsScp)
commit_reusable = _variant(CommitReusable)
commit_any_slot = _variant(CommitAnySlot)
leaky_key = _variant(LeakyKey)
wrong_public_key = _variant(WrongPublicKey)
cert_not_stored = _variant(CertNotStored)
any_certificate = _variant(AnyCertificate)
ca_bit_ignored = _variant(CaBitIgnored)
status_byte_not_set = _variant(StatusByteNotSet)
last_block_only = _variant(LastBlockOnly)
block_ignored = _variant(BlockIgnored)
blocked_answers_63c0 = _variant(BlockedAnswers63C0)
temp_pin_reusable = _variant(TempPinReusable)
any_temp_pin_unblocks = _variant(AnyTempPinUnblocks)
new_pin_not_set = _variant(NewPinNotSet)
unlimited_temp_tries = _variant(UnlimitedTempTries)
temp_tries_reset_by_reset = _variant(TempTriesResetByReset)
wrong_tries_reported = _variant(WrongTriesReported)
block_without_temp = _variant(BlockWithoutTemp)
short_temp_pins = _variant(ShortTempPins)
random_se_id = _variant(RandomSeId)
se_id_per_power_up = _variant(SeIdPerPowerUp)
long_se_id = _variant(LongSeId)
applet_bound_se_id = _variant(AppletBoundSeId)
delete_keeps_key = _variant(DeleteKeepsKey)
delete_keeps_certificate = _variant(DeleteKeepsCertificate)
delete_changes_se_id = _variant(DeleteChangesSeId)
delete_auth_only = _variant(DeleteAuthOnly)
