"""Deliberately non-conforming smartphone JPKI applets, one fault each, to show that every provisioning
conformance test (conformance/provisioning) can fail. Each is a factory ``(personality, state) -> card`` for
a profile's ``ixit.transport.factory``: the reference card with the JPKI applet object's class swapped for a
subclass of :class:`JpkiPhoneApplet` that breaks one rule."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.jpki_phone import JpkiPhoneApplet
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.reference.persona import load_persona
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.jpki.card import JPKI_AID


class NoScpLevelCheck(JpkiPhoneApplet):
    """Accepts provisioning commands in a session at any level (PROV-SCP-01)."""

    def level_ok(self, level: int) -> bool:
        return True


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


class LeakyKey(JpkiPhoneApplet):
    """Sends a prime factor of the new key along with the public key (PROV-KEY-02)."""

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super()._generate_key(ctx, apdu)
        slot = self._slot(apdu.p2)
        if response.sw != SW.OK or slot is None:
            return response
        from jpkikit.reference.emulator.jpki import load_key

        p = load_key(self.data["keys"][f"{slot.key:04X}"]).private_numbers().p
        return reply(SW.OK, response.data + Tlv(0xC1, p.to_bytes(128, "big")).encode())


class CertNotStored(JpkiPhoneApplet):
    """Answers PUT CERTIFICATE 9000 and keeps the old certificate EF (PROV-CERT-01)."""

    def _put_certificate(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply()


class AnyCertificate(JpkiPhoneApplet):
    """Stores a certificate whatever public key it holds (PROV-CERT-01)."""

    def certificate_matches(self, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> bool:
        return True


class BlockIgnored(JpkiPhoneApplet):
    """BLOCK PIN answers 9000 but the PIN stays usable (PROV-PIN-01)."""

    def _block_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply() if self._pin_of(apdu.p2) is not None else reply(SW.INCORRECT_P1P2)


class TempPinReusable(JpkiPhoneApplet):
    """The temporary PIN stays valid after it was used (PROV-PIN-01)."""

    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        found = self._pin_record(ctx, apdu)
        saved = dict(found[1]) if isinstance(found, tuple) else None
        response = super()._reset_retry_counter(ctx, apdu)
        if saved is not None and response.sw == SW.OK and isinstance(found, tuple):
            found[1].update(temp=saved["temp"], temp_tries=saved["temp_tries"])
        return response


class RandomSeId(JpkiPhoneApplet):
    """A new SE identification ID on every read (PROV-SEID-01)."""

    def _get_se_id(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply(SW.OK, os.urandom(16))


class DeleteKeepsKey(JpkiPhoneApplet):
    """DELETE KEYS removes the certificates but leaves the private keys (PROV-DEL-01)."""

    def _delete_keys(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        keys = dict(self.data["keys"])
        response = super()._delete_keys(ctx, apdu)
        self.data["keys"].update(keys)
        return response


def _variant(cls: type[JpkiPhoneApplet]) -> Callable[[str | None, Path | None], Card]:
    def make(personality: str | None, state: Path | None) -> Card:
        card = Card(get_personality(personality or "gp-se"), state)
        card.registry[JPKI_AID].applet.__class__ = cls
        return card

    make.__name__ = cls.__name__
    return make


no_scp_level_check = _variant(NoScpLevelCheck)
lying_r = _variant(LyingR)
fixed_key = _variant(FixedKey)
leaky_key = _variant(LeakyKey)
cert_not_stored = _variant(CertNotStored)
any_certificate = _variant(AnyCertificate)
block_ignored = _variant(BlockIgnored)
temp_pin_reusable = _variant(TempPinReusable)
random_se_id = _variant(RandomSeId)
delete_keeps_key = _variant(DeleteKeepsKey)
