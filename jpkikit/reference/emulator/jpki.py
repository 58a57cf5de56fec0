"""The JPKI application (公的個人認証AP), card-compatible (docs/spec/jpki-applet.md; the names in parentheses
below are its section headings, shortened).

EFs (file map): certificates 0001 (sign, password-protected), 0002 (its CA), 000A (auth; protected on the
GP-SE token: phone token), 000B (its CA); token info 0006 (token information); 0008 cert presence; key EFs
0017/001A and PIN EFs 0018/001B (selectable, not readable). Commands (commands): SELECT EF, READ BINARY
(15-bit offset or SFI, 6B00 past the end), VERIFY with the case-1 retry query, CHANGE REFERENCE DATA after
VERIFY, COMPUTE DIGITAL SIGNATURE 80 2A 00 80 (PKCS#1 v1.5 type 1 over the DigestInfo given, signing) and its
P1 01-05 schemes (commands: SHA-256 on the card, RSASSA-PSS), GET CHALLENGE.

Persistent data (``self.data``): EF contents, PIN values and try counters, private keys (PEM). The security
status is transient, per logical channel (``ctx.session``); the runtime clears it on re-select, on selecting
another application and on reset (security state). Secrets are never logged.
"""

from __future__ import annotations

import hmac
import os
from functools import lru_cache
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.persona import load_persona
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import (
    CHARSETS,
    EF_AUTH_CA,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_CERT_STATUS,
    EF_SIGN_CA,
    EF_SIGN_CERT,
    EF_SIGN_KEY,
    EF_SIGN_PIN,
    EF_TOKEN_INFO,
    MAX_PIN_BYTES,
    JpkiIns,
)
from jpkikit.vocab.jpki.layouts import build_token_info
from jpkikit.vocab.jpki.pkcs1 import max_data_length, sign_data
from jpkikit.vocab.jpki.signature_schemes import PSS as PSS_SCHEMES
from jpkikit.vocab.jpki.signature_schemes import (
    PSS_SALT_LENGTH,
    SignatureScheme,
    data_length_ok,
    message_hash,
    type1_payload,
)

PIN_EFS = {EF_AUTH_PIN: "auth", EF_SIGN_PIN: "sign"}
#: Key EF -> the PIN EF whose VERIFY permits signing with it (security state).
KEY_PIN = {EF_AUTH_KEY: EF_AUTH_PIN, EF_SIGN_KEY: EF_SIGN_PIN}

#: Card PIN rules (PIN rules): auth 4 digits / 3 tries, sign 6-16 of A-Z 0-9 / 5 tries. Same shape as the
#: profile's ICS ``jpki.auth_pin`` / ``jpki.sign_pin``; a personality may override them.
DEFAULT_PIN_RULES: dict[str, dict[str, Any]] = {
    "auth": {"min_length": 4, "max_length": 4, "charset": "digits", "tries": 3},
    "sign": {"min_length": 6, "max_length": 16, "charset": "upper-alnum", "tries": 5},
}


def token_info(label: str, max_pin: int = 16, min_pin: int = 6) -> bytes:
    """EF 0006: a 160-byte CK_TOKEN_INFO with big-endian CK_ULONGs (token information: a single-source
    layout, myna-card's probe of a card; the layout is jpkikit.vocab.jpki.layouts.TOKEN_INFO)."""
    return build_token_info(
        label=label,
        manufacturer_id="JPKI",
        model="JPKIKIT-EMU",
        serial_number="00000000",
        flags=0x0000040D,
        max_session_count=1,
        session_count=0,
        max_rw_session_count=1,
        rw_session_count=0,
        max_pin_len=max_pin,
        min_pin_len=min_pin,
        total_public_memory=0xFFFFFFFF,
        free_public_memory=0xFFFFFFFF,
        total_private_memory=0xFFFFFFFF,
        free_private_memory=0xFFFFFFFF,
        hardware_version=b"03",
        firmware_version=b"01",
        utc_time="",
    )


def pin_acceptable(value: bytes, rules: dict[str, Any]) -> bool:
    """Whether ``value`` is a PIN the rules allow (length and character set, PIN rules)."""
    alphabet = CHARSETS.get(rules.get("charset", ""), "")
    return rules["min_length"] <= len(value) <= rules["max_length"] and all(chr(b) in alphabet for b in value)


@lru_cache(maxsize=16)
def load_key(pem: str) -> rsa.RSAPrivateKey:
    # Every key an EF holds is the kit's own: personalised from the bundled persona, generated on the card,
    # or delivered by PUT KEY PAIR and checked on receipt (jpki_phone.py). Checking its RSA parameters
    # again on every load cost ~60 ms a key (0.6 s of a run, issue 16) and can find nothing new.
    key = serialization.load_pem_private_key(pem.encode("ascii"), None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("JPKI key EF holds a non-RSA key")
    return key


def _fid_key(fid: int) -> str:
    return f"{fid:04X}"


class JpkiApplet(Applet):
    """Params: ``token_label``; ``auth_cert_needs_pin`` (GP-SE: EF 000A needs the auth PIN: phone token);
    ``auth_pin`` / ``sign_pin`` rule overrides (see DEFAULT_PIN_RULES)."""

    type_name = "jpki"
    _HANDLERS: ClassVar[dict[int, str]] = {
        Ins.SELECT: "_select_ef",
        Ins.READ_BINARY: "_read_binary",
        Ins.VERIFY: "_verify",
        Ins.CHANGE_REFERENCE_DATA: "_change",
        Ins.GET_CHALLENGE: "_get_challenge",
    }

    # -- set-up ---------------------------------------------------------------------------------------------

    def rules(self, which: str) -> dict[str, Any]:
        return {**DEFAULT_PIN_RULES[which], **self.params.get(f"{which}_pin", {})}

    def initial_data(self) -> dict[str, Any]:
        persona = load_persona()
        sign = self.rules("sign")
        label = self.params.get("token_label", "JPKIAPGPSETOKEN")
        files = {
            EF_SIGN_CERT: persona.certs["sign"],
            EF_SIGN_CA: persona.certs["sign-ca"],
            EF_TOKEN_INFO: token_info(label, sign["max_length"], sign["min_length"]),
            EF_CERT_STATUS: b"\x8f\x8f\x00",  # both certificates present (file map)
            EF_AUTH_CERT: persona.certs["auth"],
            EF_AUTH_CA: persona.certs["auth-ca"],
        }
        return {
            "files": {_fid_key(fid): content.hex() for fid, content in files.items()},
            "pins": {
                _fid_key(fid): {"value": persona.pins[which], "tries_left": self.rules(which)["tries"]}
                for fid, which in PIN_EFS.items()
            },
            "keys": {
                _fid_key(EF_AUTH_KEY): persona.key_pems["auth"],
                _fid_key(EF_SIGN_KEY): persona.key_pems["sign"],
            },
        }

    # -- helpers that faulty variants (tests/faulty_jpki.py) override --------------------------------------

    def read_condition(self, fid: int) -> int | None:
        """The PIN EF whose VERIFY permits READ BINARY of ``fid``, or None when it is free (file map)."""
        if fid == EF_SIGN_CERT:
            return EF_SIGN_PIN
        if fid == EF_AUTH_CERT and self.params.get("auth_cert_needs_pin", False):
            return EF_AUTH_PIN
        return None

    def verified(self, ctx: Context) -> set[int]:
        """PIN EFs verified in this channel's session (cleared by re-select, another select, reset)."""
        return ctx.session.setdefault("verified", set())

    def blocked_sw(self) -> int:
        return SW.REFERENCE_DATA_NOT_USABLE  # 6984 on every VERIFY after the lock (PIN states and blocking)

    def on_wrong_pin(self, record: dict[str, Any]) -> None:
        record["tries_left"] = max(0, int(record["tries_left"]) - 1)

    def sign(self, key: rsa.RSAPrivateKey, data: bytes) -> bytes:
        return sign_data(key, data)

    def sign_scheme(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        """P1 01-05 (commands, the signature scheme table): the card hashes with SHA-256 and/or signs with
        RSASSA-PSS (MGF1-SHA-256, a random salt as long as the hash)."""
        if scheme in PSS_SCHEMES:
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH)
            return key.sign(message_hash(scheme, data), pss, utils.Prehashed(hashes.SHA256()))
        return sign_data(key, type1_payload(scheme, data))

    # -- dispatch -------------------------------------------------------------------------------------------

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if cla_secure_messaging(apdu.cla):
            return reply(SW.SECURE_MESSAGING_NOT_SUPPORTED)  # 6882 for an SM CLA (single source: myna-card)
        if apdu.cla & 0x80:
            if apdu.ins == JpkiIns.COMPUTE_DIGITAL_SIGNATURE:
                return self._compute_signature(ctx, apdu)
            return reply(SW.INS_NOT_SUPPORTED)
        name = self._HANDLERS.get(apdu.ins)
        return getattr(self, name)(ctx, apdu) if name else reply(SW.INS_NOT_SUPPORTED)

    def _file(self, fid: int | None) -> bytes | None:
        content = self.data["files"].get(_fid_key(fid)) if fid is not None else None
        return bytes.fromhex(content) if content is not None else None

    def _exists(self, fid: int) -> bool:
        key = _fid_key(fid)
        return key in self.data["files"] or key in self.data["pins"] or key in self.data["keys"]

    def _target(self, ctx: Context, p2: int) -> int | None:
        """P2 = 80: the current EF; P2 = 80 + SFI (1..30): that EF (single source: myna-card)."""
        if p2 == 0x80:
            return ctx.session.get("ef")
        if 0x81 <= p2 <= 0x9E:
            return p2 & 0x1F
        return None

    # -- SELECT EF, READ BINARY (file map, reading a file) ---------------------------------------------

    def _select_ef(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x00 and not apdu.data:
            return reply()  # "select MF" with a DF current: a no-op (myna-card's probe)
        if apdu.p1 not in (0x00, 0x02) or apdu.p2 not in (0x00, 0x0C):
            return reply(SW.INCORRECT_P1P2)
        if len(apdu.data) != 2:
            return reply(SW.WRONG_LENGTH)
        fid = int.from_bytes(apdu.data, "big")
        if not self._exists(fid):
            return reply(SW.FILE_NOT_FOUND)  # the current EF stays
        ctx.session["ef"] = fid
        return reply()

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.data:
            return reply(SW.WRONG_LENGTH)
        if apdu.p1 & 0x80:  # P1 = 80 + SFI, P2 = 8-bit offset; the EF becomes current
            fid, offset = apdu.p1 & 0x1F, apdu.p2
            if not fid or not self._exists(fid):
                return reply(SW.FILE_NOT_FOUND)
            ctx.session["ef"] = fid
        else:
            fid, offset = ctx.session.get("ef"), (apdu.p1 << 8) | apdu.p2  # 15-bit offset
        if fid is None:
            return reply(SW.NO_CURRENT_EF)
        content = self._file(fid)
        if content is None:
            return reply(SW.COMMAND_INCOMPATIBLE)  # a PIN or key EF: not a transparent EF
        pin = self.read_condition(fid)
        if pin is not None and pin not in self.verified(ctx):
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)
        if offset >= len(content):
            return reply(SW.WRONG_P1P2)  # 6B00 offset outside the EF (reading a file)
        return reply(SW.OK, content[offset : offset + (apdu.ne or 256)])

    # -- VERIFY, CHANGE REFERENCE DATA (commands, PIN rules, PIN states and blocking) -------------------

    def _pin_record(self, ctx: Context, apdu: CommandApdu) -> tuple[int, dict[str, Any]] | ResponseApdu:
        fid = self._target(ctx, apdu.p2)
        if fid is None and apdu.p2 != 0x80:
            return reply(SW.INCORRECT_P1P2)
        record = self.data["pins"].get(_fid_key(fid)) if fid is not None else None
        if fid is None or record is None:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)  # no PIN EF current
        return fid, record

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 != 0x00:
            return reply(SW.INCORRECT_P1P2)
        found = self._pin_record(ctx, apdu)
        if isinstance(found, ResponseApdu):
            return found
        fid, record = found
        if apdu.ne is not None:
            return reply(SW.WRONG_LENGTH)  # the retry query is case 1; with Le it is 6700 (commands)
        tries = int(record["tries_left"])
        if not apdu.data:
            return reply(0x63C0 | min(tries, 0x0F))  # retry query: spends nothing (commands)
        if len(apdu.data) > MAX_PIN_BYTES:
            return reply(SW.WRONG_LENGTH)
        if tries == 0:
            return reply(self.blocked_sw())
        verified = self.verified(ctx)
        # The card compares bytes: a lowercase or non-ASCII value is simply a wrong PIN (PIN rules).
        if hmac.compare_digest(apdu.data, str(record["value"]).encode("ascii")):
            record["tries_left"] = self.rules(PIN_EFS[fid])["tries"]  # success resets the counter (PIN rules)
            verified.add(fid)
            return reply()
        verified.discard(fid)
        self.on_wrong_pin(record)
        return reply(0x63C0 | min(int(record["tries_left"]), 0x0F))

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 != 0x01:
            return reply(SW.INCORRECT_P1P2)  # only "new value only" (P1=01) is supported (commands)
        found = self._pin_record(ctx, apdu)
        if isinstance(found, ResponseApdu):
            return found
        fid, record = found
        if apdu.ne is not None or not 1 <= len(apdu.data) <= MAX_PIN_BYTES:
            return reply(SW.WRONG_LENGTH)
        if int(record["tries_left"]) == 0:
            return reply(self.blocked_sw())
        if fid not in self.verified(ctx):
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)  # only after a successful VERIFY (commands)
        rules = self.rules(PIN_EFS[fid])
        if not pin_acceptable(apdu.data, rules):
            return reply(SW.WRONG_DATA)
        record["value"] = apdu.data.decode("ascii")
        record["tries_left"] = rules["tries"]
        return reply()

    # -- COMPUTE DIGITAL SIGNATURE (commands, signing), GET CHALLENGE -----------------------------------

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        try:
            scheme = SignatureScheme(apdu.p1)  # P1 00 every client uses, 01-05 the card's others (commands)
        except ValueError:
            return reply(SW.INCORRECT_P1P2)  # 6A86 for a P1 no source defines (single source: myna-card)
        fid = self._target(ctx, apdu.p2)
        if fid is None and apdu.p2 != 0x80:
            return reply(SW.INCORRECT_P1P2)
        if fid not in KEY_PIN:
            return reply(SW.NO_CURRENT_EF)  # no key EF selected
        if KEY_PIN[fid] not in self.verified(ctx):
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)  # 6982 without VERIFY (status words)
        key = load_key(self.data["keys"][_fid_key(fid)])
        if scheme is SignatureScheme.VERBATIM:
            if not 1 <= len(apdu.data) <= max_data_length(key.key_size // 8):
                return reply(SW.WRONG_LENGTH)  # 1..k-11 bytes (signing)
            return reply(SW.OK, self.sign(key, apdu.data))
        if not data_length_ok(scheme, len(apdu.data), ctx.card.personality.max_command_data):
            return reply(SW.WRONG_LENGTH)  # 02 and 04: exactly one SHA-256 hash; the others: a message
        return reply(SW.OK, self.sign_scheme(key, scheme, apdu.data))

    def _get_challenge(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 or apdu.p2:
            return reply(SW.INCORRECT_P1P2)
        if apdu.data or apdu.ne is None:
            return reply(SW.WRONG_LENGTH)
        return reply(SW.OK, os.urandom(min(apdu.ne, 256)))


class CardFaceApplet(Applet):
    """The My Number card's card-face APs, present minimally (selectable, nothing else)."""

    type_name = "card-face"
