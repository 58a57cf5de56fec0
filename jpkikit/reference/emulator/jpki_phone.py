"""The smartphone JPKI applet (``jpki-phone``): the card-compatible JPKI applet plus the provisioning
command set the TSM uses to personalise it (docs/provisioning-commands.md; seed 004 pp.6, 15-26, restated in
docs/spec/system.md).

No public specification defines these commands: they are the kit's profile of them. They use the
proprietary class (CLA 80, 84 with secure messaging) and are accepted only inside an SCP03 session opened
with the key set of the applet's associated security domain (the JPKI APSD, seed 004 p.11), at least at the
security level the applet is given (``provisioning_level``, from the profile's ``ics.provisioning``).
The session is opened by sending INITIALIZE UPDATE / EXTERNAL AUTHENTICATE to the applet itself, which
hands them to its SD (GP API ``SecureChannel.processSecurity``, GPCS §10.2.3). ISO commands (CLA 00) are
the card's, unchanged, outside the secure channel; RESET RETRY COUNTER (00 2C) is added for the app's
"unblock with the temporary PIN" (seed 004 p.17).

COMMIT is the app's command (seed 004 p.15: the GP-SE generates R and S = H[R] before the application is
signed, and S travels inside the card-signed application): it is accepted without a secure channel, as the
app has no SCP03 keys, and R stays pending in persistent data until GENERATE KEY answers it, in a later
session of the TSM.

The SE identification ID (seed 004 p.18) belongs to the chip, not to the applet instance: it is the chip's
unique identifier, which the emulator keeps in the Issuer Security Domain's persistent data (as a real
platform keeps its chip identity), so it survives deleting and re-installing the applet. A ``se_id``
parameter pins it (the kit's SE for TSM tests).

PUT KEY PAIR (the SIM design's off-card key delivery, seeds 001 and 003) is answered only when the
``key_delivery`` parameter is set; the package must name this SE and its key must be wrapped under the
static Key-DEK of the session's key set, in a session with C-DECRYPTION.

Persistent data beyond the JPKI applet's: ``commit`` (pending R per key slot, seed 004 step ⑰), per PIN
record ``temp`` / ``temp_tries`` (seed 004 p.17). Secrets (PINs, temporary PINs, private keys) are never
logged.
"""

from __future__ import annotations

import functools
import hmac
import os
from dataclasses import dataclass
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.errors import KitError
from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.gp.content import issuer
from jpkikit.reference.emulator.gp.security_domain import SecurityDomain, associated_security_domain
from jpkikit.reference.emulator.jpki import PIN_EFS, JpkiApplet, load_key, pin_acceptable
from jpkikit.reference.keypool import new_rsa_key
from jpkikit.vocab.gp.constants import INS_EXTERNAL_AUTHENTICATE, INS_INITIALIZE_UPDATE
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.jpki.card import (
    EF_AUTH_CA,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_CERT_STATUS,
    EF_SIGN_CA,
    EF_SIGN_CERT,
    EF_SIGN_KEY,
    EF_SIGN_PIN,
    MAX_PIN_BYTES,
)
from jpkikit.vocab.jpki.provisioning import (
    ALL_SLOTS,
    CA_BIT,
    INS_BLOCK_PIN,
    INS_COMMIT,
    INS_DELETE_KEYS,
    INS_GENERATE_KEY,
    INS_GET_SE_ID,
    INS_PUT_CERTIFICATE,
    INS_PUT_KEY_PAIR,
    INS_RESET_RETRY_COUNTER,
    INS_SET_TEMP_PIN,
    MORE_BLOCKS,
    PROVISIONING_INS,
    R_LENGTH,
    SE_ID_LENGTH,
    TAG_EXPONENT,
    TAG_MODULUS,
    TAG_PUBLIC_KEY,
    TAG_R,
    commitment,
    parse_key_package,
    unwrap_private_key,
)

KEY_BITS = 2048
PUBLIC_EXPONENT = 65537
DEFAULT_LEVEL = "33"  # C-DECRYPTION, C-MAC, R-ENCRYPTION, R-MAC (Amd D Table 7-3)
DEFAULT_TEMP_PIN_TRIES = 3
CERT_BUFFER = "cert_blocks"  # ctx.session key while a certificate arrives in blocks
KEY_BLOCKS = "key_package_blocks"  # ctx.session key while a key package arrives in blocks
CHIP_ID = "jpkikit_chip_id"  # the chip's identifier, in the ISD's persistent data
C_DECRYPTION = 0x02  # Amd D Table 7-3


def collect_blocks(ctx: Context, apdu: CommandApdu, key: str, slot_known: bool) -> bytes | ResponseApdu:
    """A command whose data comes in blocks (P1 80 = more follow, docs/provisioning-commands.md): the whole
    data once the last block is in, or the answer to this block. ``key`` names the buffer in the session;
    a bad P1 or slot, or a block for another P2 in the middle, ends the buffer."""
    if apdu.p1 & ~MORE_BLOCKS or not slot_known:
        ctx.session.pop(key, None)
        return reply(SW.INCORRECT_P1P2)
    buffer = ctx.session.setdefault(key, {"p2": apdu.p2, "data": b""})
    if buffer["p2"] != apdu.p2:
        ctx.session.pop(key, None)
        return reply(SW.CONDITIONS_NOT_SATISFIED)  # a block for another slot in the middle
    buffer["data"] += apdu.data
    if apdu.p1 & MORE_BLOCKS:
        return reply()
    return bytes(ctx.session.pop(key)["data"])


@dataclass(frozen=True)
class Slot:
    """One key pair of the applet: its key EF, certificate EF, CA certificate EF, PIN EF, EF 0008 byte."""

    name: str
    key: int
    cert: int
    ca: int
    pin: int
    status_byte: int


SLOTS = {
    0x01: Slot("auth", EF_AUTH_KEY, EF_AUTH_CERT, EF_AUTH_CA, EF_AUTH_PIN, 1),
    0x02: Slot("sign", EF_SIGN_KEY, EF_SIGN_CERT, EF_SIGN_CA, EF_SIGN_PIN, 0),
}
PIN_SLOT = {slot.pin: ref for ref, slot in SLOTS.items()}


def _hex(fid: int) -> str:
    return f"{fid:04X}"


def public_key_template(key: rsa.RSAPublicKey) -> bytes:
    numbers = key.public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return Tlv(TAG_PUBLIC_KEY, Tlv(TAG_MODULUS, n).encode() + Tlv(TAG_EXPONENT, e).encode()).encode()


@functools.lru_cache(maxsize=8)
def load_delivered_key(der: bytes) -> Any:
    """A delivered private key (PKCS#8 DER), parsed and checked once (cryptography's full RSA validation,
    ~37 ms): the observing SE of a TSM test parses the same delivery before the applet does. Only keys
    that parse are kept; a bad one raises every time."""
    return serialization.load_der_private_key(der, None)


class JpkiPhoneApplet(JpkiApplet):
    """Params (besides JpkiApplet's): ``provisioning_level`` (hex, the SCP03 level bits every provisioning
    command needs, default 33), ``temp_pin_tries`` (default 3), ``se_id`` (hex; the chip's identifier
    when absent), ``key_delivery`` (answer PUT KEY PAIR, the SIM design)."""

    type_name = "jpki-phone"
    _PROVISIONING: ClassVar[dict[int, str]] = {
        INS_GET_SE_ID: "_get_se_id",
        INS_COMMIT: "_commit",
        INS_GENERATE_KEY: "_generate_key",
        INS_PUT_CERTIFICATE: "_put_certificate",
        INS_SET_TEMP_PIN: "_set_temp_pin",
        INS_BLOCK_PIN: "_block_pin",
        INS_DELETE_KEYS: "_delete_keys",
        INS_PUT_KEY_PAIR: "_put_key_pair",
    }

    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        data["commit"] = {}
        return data

    def se_id(self, ctx: Context) -> bytes:
        """The SE identification ID: the chip's identifier (seed 004 p.18), or the ``se_id`` parameter."""
        if self.params.get("se_id"):
            return bytes.fromhex(self.params["se_id"])
        isd = issuer(ctx)
        store = isd.data if isd is not None else self.data
        if CHIP_ID not in store:
            store[CHIP_ID] = os.urandom(SE_ID_LENGTH).hex().upper()
        return bytes.fromhex(store[CHIP_ID])

    @property
    def required_level(self) -> int:
        return int(self.params.get("provisioning_level", DEFAULT_LEVEL), 16)

    # -- hooks that faulty variants (tests/faulty_provisioning.py) override ----------------------------

    def new_key(self) -> rsa.RSAPrivateKey:
        return new_rsa_key(KEY_BITS, PUBLIC_EXPONENT)  # made ahead when the pool is on

    def new_r(self) -> bytes:
        return os.urandom(R_LENGTH)

    def level_ok(self, level: int) -> bool:
        required = self.required_level
        return level & required == required

    # -- dispatch --------------------------------------------------------------------------------------

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        proprietary = bool(apdu.cla & 0x80)
        if proprietary and apdu.ins in (INS_INITIALIZE_UPDATE, INS_EXTERNAL_AUTHENTICATE):
            sd = associated_security_domain(ctx, self.aid)
            handled = sd.process_security(ctx, apdu) if sd is not None else None
            if handled is not None:
                return handled
        if proprietary and apdu.ins == INS_COMMIT and not cla_secure_messaging(apdu.cla):
            return self._commit(ctx, apdu)  # the app's command, without a secure channel (seed 004 p.15)
        if proprietary and apdu.ins in PROVISIONING_INS:
            return self._provisioning(ctx, associated_security_domain(ctx, self.aid), apdu)
        if not proprietary and apdu.ins == INS_RESET_RETRY_COUNTER and not cla_secure_messaging(apdu.cla):
            return self._reset_retry_counter(ctx, apdu)
        return super().process(ctx, apdu)

    def _provisioning(self, ctx: Context, sd: SecurityDomain | None, apdu: CommandApdu) -> ResponseApdu:
        if sd is None:
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)  # no associated SD: no secure channel at all
        sc = sd.channel(ctx)
        plain = sc.unwrap(apdu)
        if isinstance(plain, ResponseApdu):
            return plain  # bad protection: refused and the session aborted (Amd D §5.6)
        if not sc.authenticated or sc.session is None or not self.level_ok(int(sc.session.level)):
            return sc.wrap(reply(SW.SECURITY_STATUS_NOT_SATISFIED))  # 6982: not at the required level
        return sc.wrap(getattr(self, self._PROVISIONING[plain.ins])(ctx, plain))

    def _slot(self, p2: int) -> Slot | None:
        return SLOTS.get(p2)

    # -- GET SE ID (seed 004 p.18) -----------------------------------------------------------------------

    def _get_se_id(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 or apdu.p2:
            return reply(SW.INCORRECT_P1P2)
        return reply(SW.OK, self.se_id(ctx))

    # -- key pair generation with the commitment (seed 004 step ⑰) -----------------------------------------

    def _commit(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        if apdu.p1 or slot is None:
            return reply(SW.INCORRECT_P1P2)
        r = self.new_r()
        self.data["commit"][slot.name] = r.hex()
        return reply(SW.OK, commitment(r))

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        if apdu.p1 or slot is None:
            return reply(SW.INCORRECT_P1P2)
        r_hex = self.data["commit"].pop(slot.name, None)
        if r_hex is None:
            return reply(SW.CONDITIONS_NOT_SATISFIED)  # 6985: no commitment S given out first
        key = self.new_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")
        self.data["keys"][_hex(slot.key)] = pem
        self._drop_certificate(slot)  # the old certificate is for a key that no longer exists
        body = public_key_template(key.public_key()) + Tlv(TAG_R, bytes.fromhex(r_hex)).encode()
        return reply(SW.OK, body)

    # -- PUT KEY PAIR (the SIM design: a key generated off card, delivered encrypted; seeds 001, 003) -----

    def _put_key_pair(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        if not self.params.get("key_delivery"):
            return reply(SW.INS_NOT_SUPPORTED)  # the GP-SE design generates every key on the chip
        package_data = collect_blocks(ctx, apdu, KEY_BLOCKS, slot is not None)
        if isinstance(package_data, ResponseApdu):
            return package_data
        self.package_received(ctx, apdu.p2, package_data)
        sd = associated_security_domain(ctx, self.aid)
        sc = sd.channel(ctx) if sd is not None else None
        if sc is None or sc.session is None or sc.kvn is None or not int(sc.session.level) & C_DECRYPTION:
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)  # a key travels only with C-DECRYPTION
        keys = sd.static_keys(sc.kvn) if sd is not None else None
        try:
            package = parse_key_package(package_data)
            if package.se_id != self.se_id(ctx):
                return reply(SW.WRONG_DATA)  # a package for another SE (binding to the SE)
            der = unwrap_private_key(keys.dek, package.wrapped_key) if keys is not None else b""
            key = load_delivered_key(der)
        except (KitError, ValueError, TypeError):
            return reply(SW.WRONG_DATA)
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != KEY_BITS:
            return reply(SW.WRONG_DATA)
        self.data["keys"][_hex(slot.key)] = self.store_delivered_key(key)
        self._drop_certificate(slot)
        self.data["commit"].pop(slot.name, None)
        return reply()

    def package_received(self, ctx: Context, p2: int, package: bytes) -> None:
        """A whole key package arrived (the kit's SE for TSM tests looks at it here)."""

    def store_delivered_key(self, key: rsa.RSAPrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")

    # -- PUT CERTIFICATE (seed 004 steps ㉑㉒) --------------------------------------------------------------

    def _put_certificate(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2 & ~CA_BIT)
        if not apdu.data:
            ctx.session.pop(CERT_BUFFER, None)
            return reply(SW.WRONG_LENGTH)
        der = collect_blocks(ctx, apdu, CERT_BUFFER, slot is not None)
        if isinstance(der, ResponseApdu):
            return der
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return reply(SW.WRONG_DATA)
        if apdu.p2 & CA_BIT:
            self.data["files"][_hex(slot.ca)] = der.hex()
            return reply()
        pem = self.data["keys"].get(_hex(slot.key))
        if pem is None or not self.certificate_matches(cert, load_key(pem)):
            return reply(SW.WRONG_DATA)  # 6A80: not a certificate of the key pair in this slot
        self.data["files"][_hex(slot.cert)] = der.hex()
        self._set_status_byte(slot, True)
        return reply()

    def certificate_matches(self, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> bool:
        return cert.public_key() == key.public_key()

    # -- temporary PIN (seed 004 pp.17, 18) --------------------------------------------------------------

    def _pin_of(self, p2: int) -> dict[str, Any] | None:
        slot = self._slot(p2)
        return self.data["pins"].get(_hex(slot.pin)) if slot is not None else None

    def _set_temp_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        record = self._pin_of(apdu.p2)
        if apdu.p1 or record is None:
            return reply(SW.INCORRECT_P1P2)
        if not 1 <= len(apdu.data) <= MAX_PIN_BYTES:
            return reply(SW.WRONG_LENGTH)
        record["temp"] = apdu.data.hex()
        record["temp_tries"] = int(self.params.get("temp_pin_tries", DEFAULT_TEMP_PIN_TRIES))
        return reply()

    def _block_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        record = self._pin_of(apdu.p2)
        if apdu.p1 or record is None:
            return reply(SW.INCORRECT_P1P2)
        if not record.get("temp"):
            return reply(SW.CONDITIONS_NOT_SATISFIED)  # 6985: blocking without a temporary PIN locks out
        record["tries_left"] = 0
        self.verified(ctx).discard(SLOTS[apdu.p2].pin)
        return reply()

    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        """00 2C 00 P2 <temporary PIN ‖ new PIN>: ISO 7816-4 §11.5.10 with the temporary PIN as the
        resetting code; P2 = 80 (current PIN EF) or 80 + SFI of the PIN EF, as VERIFY."""
        if apdu.p1 != 0x00:
            return reply(SW.INCORRECT_P1P2)
        found = self._pin_record(ctx, apdu)
        if isinstance(found, ResponseApdu):
            return found
        fid, record = found
        if apdu.ne is not None:
            return reply(SW.WRONG_LENGTH)
        temp = bytes.fromhex(record.get("temp") or "")
        if not temp or int(record.get("temp_tries", 0)) == 0:
            return reply(SW.REFERENCE_DATA_NOT_USABLE)  # 6984: no (usable) temporary PIN
        given, new = apdu.data[: len(temp)], apdu.data[len(temp) :]
        if not hmac.compare_digest(given, temp):
            record["temp_tries"] = int(record["temp_tries"]) - 1
            if record["temp_tries"] == 0:
                record["temp"] = ""  # used up: a new temporary PIN must come from the TSM (seed 004 p.18)
            return reply(0x63C0 | int(record["temp_tries"]))
        rules = self.rules(PIN_EFS[fid])
        if not pin_acceptable(new, rules):
            return reply(SW.WRONG_DATA)  # the temporary PIN stays valid for a retry with a good PIN
        record.update(value=new.decode("ascii"), tries_left=rules["tries"], temp="", temp_tries=0)
        return reply()

    # -- DELETE KEYS AND CERTIFICATES (seed 004 p.25) ------------------------------------------------------

    def _delete_keys(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 or (apdu.p2 != ALL_SLOTS and apdu.p2 not in SLOTS):
            return reply(SW.INCORRECT_P1P2)
        for ref, slot in SLOTS.items():
            if apdu.p2 not in (ALL_SLOTS, ref):
                continue
            self.data["keys"].pop(_hex(slot.key), None)
            self._drop_certificate(slot)
            self.data["commit"].pop(slot.name, None)
            record = self.data["pins"][_hex(slot.pin)]
            record.update(tries_left=0, temp="", temp_tries=0)  # no key left to protect; PIN unusable
            self.verified(ctx).discard(slot.pin)
        return reply()

    # -- helpers -------------------------------------------------------------------------------------------

    def _drop_certificate(self, slot: Slot) -> None:
        self.data["files"].pop(_hex(slot.cert), None)
        self._set_status_byte(slot, False)

    def _set_status_byte(self, slot: Slot, present: bool) -> None:
        status = bytearray(bytes.fromhex(self.data["files"].get(_hex(EF_CERT_STATUS), "000000")))
        status[slot.status_byte] = 0x8F if present else 0x00  # EF 0008 (docs/spec/jpki-applet.md, file map)
        self.data["files"][_hex(EF_CERT_STATUS)] = bytes(status).hex()
