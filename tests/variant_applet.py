"""A differently encoded smartphone JPKI applet (a stand-in for a vendor's), and its provisioning adapter:
the conformance/provisioning suite runs through the kit's command set on the reference applet and through
:class:`VariantAdapter` on this one (tests/test_provisioning_adapters.py), so the suite depends on the
operations, not on the kit's APDUs.

The variant's encoding ("vendor B"): the SE ID by GET DATA DF20 in a TLV; COMMIT answers ``C1 S``; GENERATE
KEY answers nothing and READ PUBLIC KEY answers the SubjectPublicKeyInfo DER then ``C2 R``; certificates
in blocks with P1 b8 = more, b1 = CA; set and block the temporary PIN with one INS (P1 00 / 01); the app's
unblock is its own INS with ``81 temp 82 new``; slots are P2 81 (auth) and 82 (sign). The same security
rules as the reference: everything but COMMIT and the unblock under SCP03 at the required level.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from cryptography.hazmat.primitives import serialization

from jpkikit.errors import TlvError
from jpkikit.host.provisioning_adapter import (
    PIN_P2,
    ApduAdapter,
    PublicKeyAndR,
    Refused,
)
from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.gp.security_domain import associated_security_domain
from jpkikit.reference.emulator.jpki_phone import JpkiPhoneApplet
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.secrets import Secret, reveal_bytes
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv, decode
from jpkikit.vocab.jpki import provisioning as prov

V_GET_DATA, V_COMMIT, V_GENERATE, V_READ_KEY, V_CERT, V_TEMP, V_UNBLOCK, V_DELETE = (
    0xCA, 0x40, 0x42, 0x44, 0x46, 0x48, 0x4A, 0x4C
)  # fmt: skip
SLOT = {"auth": 0x81, "sign": 0x82}
KIT_SLOT = {0x81: prov.SLOT_AUTH, 0x82: prov.SLOT_SIGN}
TAG_SE_ID, TAG_S, TAG_R = 0xDF20, 0xC1, 0xC2


class VariantApplet(JpkiPhoneApplet):
    type_name = "jpki-phone"
    _PROVISIONING: ClassVar[dict[int, str]] = {
        V_GET_DATA: "_v_get_data",
        V_GENERATE: "_v_generate",
        V_READ_KEY: "_v_read_key",
        V_CERT: "_v_cert",
        V_TEMP: "_v_temp",
        V_DELETE: "_v_delete",
    }

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        proprietary = bool(apdu.cla & 0x80)
        if proprietary and apdu.ins == V_COMMIT and not cla_secure_messaging(apdu.cla):
            return self._v_commit(ctx, apdu)
        if proprietary and apdu.ins == V_UNBLOCK and not cla_secure_messaging(apdu.cla):
            return self._v_unblock(ctx, apdu)
        if proprietary and apdu.ins in self._PROVISIONING:
            return self._provisioning(ctx, associated_security_domain(ctx, self.aid), apdu)
        if proprietary and apdu.ins in prov.PROVISIONING_INS:
            return reply(SW.INS_NOT_SUPPORTED)  # the kit's codes are not this applet's
        if not proprietary and apdu.ins == prov.INS_RESET_RETRY_COUNTER:
            return reply(SW.INS_NOT_SUPPORTED)
        return super().process(ctx, apdu)

    def _kit(self, ins: int, apdu: CommandApdu, p1: int = 0, data: bytes = b"") -> CommandApdu:
        return CommandApdu(0x80, ins, p1, KIT_SLOT.get(apdu.p2, 0xEE), data)

    def _v_commit(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = self._commit(ctx, self._kit(prov.INS_COMMIT, apdu))
        return reply(r.sw, Tlv(TAG_S, r.data).encode() if r.sw == SW.OK else b"")

    def _v_get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if (apdu.p1 << 8 | apdu.p2) != TAG_SE_ID:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        r = self._get_se_id(ctx, CommandApdu(0x80, prov.INS_GET_SE_ID, 0, 0))
        return reply(r.sw, Tlv(TAG_SE_ID, r.data).encode())

    def _v_generate(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = self._generate_key(ctx, self._kit(prov.INS_GENERATE_KEY, apdu))
        if r.sw == SW.OK:
            ctx.session[f"variant.key.{apdu.p2:02X}"] = r.data
        return reply(r.sw)

    def _v_read_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        answer = ctx.session.get(f"variant.key.{apdu.p2:02X}")
        if answer is None:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        key = prov.parse_generated_key(answer)
        spki = key.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return reply(SW.OK, spki + Tlv(TAG_R, key.r).encode())

    def _v_cert(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = KIT_SLOT.get(apdu.p2, 0xEE) | (prov.CA_BIT if apdu.p1 & 0x01 else 0)
        more = prov.MORE_BLOCKS if apdu.p1 & 0x80 else 0
        return self._put_certificate(ctx, CommandApdu(0x80, prov.INS_PUT_CERTIFICATE, more, slot, apdu.data))

    def _v_temp(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x00:
            return self._set_temp_pin(ctx, self._kit(prov.INS_SET_TEMP_PIN, apdu, data=apdu.data))
        if apdu.p1 == 0x01:
            return self._block_pin(ctx, self._kit(prov.INS_BLOCK_PIN, apdu))
        return reply(SW.INCORRECT_P1P2)

    def _v_delete(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        p2 = prov.ALL_SLOTS if apdu.p2 == 0x00 else KIT_SLOT.get(apdu.p2, 0xEE)
        return self._delete_keys(ctx, CommandApdu(0x80, prov.INS_DELETE_KEYS, 0, p2))

    def _v_unblock(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        try:
            items = {t.tag: t.value for t in decode(apdu.data)}
            temp, new = items[0x81], items[0x82]
        except (TlvError, KeyError):
            return reply(SW.WRONG_DATA)
        kind = {0x81: "auth", 0x82: "sign"}.get(apdu.p2)
        if kind is None:
            return reply(SW.INCORRECT_P1P2)
        iso = CommandApdu(0x00, prov.INS_RESET_RETRY_COUNTER, 0, PIN_P2[kind], temp + new)
        return self._reset_retry_counter(ctx, iso)


def make_card(personality: str | None, state: Path | None) -> Card:
    """The GP-SE personality with the variant as its JPKI applet type (also when the ISD installs it
    again)."""
    base = get_personality(personality or "gp-se")
    types = {**base.applet_types, "jpki-phone": VariantApplet}
    return Card(replace(base, applet_types=types), state)


class VariantAdapter(ApduAdapter):
    """The provisioning operations in the variant's encoding."""

    name = "vendor B"
    secret_commands: ClassVar[dict[tuple[bool, int], str]] = {
        (True, V_TEMP): "temporary PIN",
        (True, V_UNBLOCK): "temporary PIN and PIN",
    }

    def _tlv(self, data: bytes, tag: int) -> bytes:
        try:
            return next(t.value for t in decode(data) if t.tag == tag)
        except (TlvError, StopIteration):
            raise prov.SeAnswerError(f"no TLV {tag:X} in {data[:16].hex()}") from None

    def commit(self, slot: str) -> bytes:
        self._select()
        r = self._plain(CommandApdu(0x80, V_COMMIT, 0, SLOT[slot], ne=256))
        if r.sw != 0x9000:
            raise Refused("COMMIT", r.sw)
        return self._tlv(r.data, TAG_S)

    def unblock(self, kind: str, temp: Secret | bytes, new: Secret | bytes) -> None:
        self._select()
        data = Tlv(0x81, reveal_bytes(temp)).encode() + Tlv(0x82, reveal_bytes(new)).encode()
        r = self._plain(CommandApdu(0x80, V_UNBLOCK, 0, SLOT[kind], data))
        if r.sw != 0x9000:
            raise Refused("UNBLOCK", r.sw, r.sw & 0x0F if r.sw & 0xFFF0 == 0x63C0 else None)

    def open(self, level: int | None = None) -> None:
        self.layer.end()
        self._select()
        if level != 0:
            self.layer.open(self.target.level if level is None else level)

    def close(self) -> None:
        self.layer.end()

    def read_se_id(self) -> bytes:
        r = self._send("GET DATA DF20", CommandApdu(0x80, V_GET_DATA, 0xDF, 0x20, ne=256))
        return self._tlv(r.data, TAG_SE_ID)

    def generate_key(self, slot: str) -> None:
        self._send("GENERATE", CommandApdu(0x80, V_GENERATE, 0, SLOT[slot]))

    def read_public_key(self, slot: str) -> PublicKeyAndR:
        r = self._send("READ PUBLIC KEY", CommandApdu(0x80, V_READ_KEY, 0, SLOT[slot]))
        try:
            length = int.from_bytes(r.data[2:4], "big") + 4  # 30 82 LL LL
            key = serialization.load_der_public_key(r.data[:length])
        except ValueError:
            raise prov.SeAnswerError("READ PUBLIC KEY answer is not a SubjectPublicKeyInfo") from None
        from cryptography.hazmat.primitives.asymmetric import rsa

        if not isinstance(key, rsa.RSAPublicKey):
            raise prov.SeAnswerError("READ PUBLIC KEY answer is not an RSA key")
        return PublicKeyAndR(key, self._tlv(r.data[length:], TAG_R))

    def store_certificate(self, slot: str, der: bytes, ca: bool = False) -> None:
        blocks = [der[i : i + 180] for i in range(0, len(der), 180)]
        for n, block in enumerate(blocks):
            p1 = (0x80 if n < len(blocks) - 1 else 0) | (0x01 if ca else 0)
            self._send("STORE CERTIFICATE", CommandApdu(0x80, V_CERT, p1, SLOT[slot], block))

    def set_temp_pin(self, slot: str, temp: Secret | bytes) -> None:
        self._send("SET TEMPORARY PIN", CommandApdu(0x80, V_TEMP, 0x00, SLOT[slot], reveal_bytes(temp)))

    def block_pin(self, slot: str) -> None:
        self._send("BLOCK", CommandApdu(0x80, V_TEMP, 0x01, SLOT[slot]))

    def delete_keys(self, slot: str | None = None) -> None:
        self._send("DELETE", CommandApdu(0x80, V_DELETE, 0, SLOT[slot] if slot else 0x00))
