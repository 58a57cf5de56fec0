"""Deliberately non-conforming JPKI applets, one fault each, to show every JPKI conformance test can fail.

Each fault is a JpkiApplet subclass; ``factory(personality, state)`` (for a profile's
``ixit.transport.factory``) builds the bundled personality with the JPKI applet swapped for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.emulator.jpki import (
    EF_AUTH_CERT,
    EF_CERT_STATUS,
    EF_SIGN_CA,
    EF_SIGN_CERT,
    EF_TOKEN_INFO,
    KEY_PIN,
    PIN_EFS,
    JpkiApplet,
    load_key,
    token_info,
)
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.reference.persona import load_persona, read_file
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW

FAULTS: dict[str, type[JpkiApplet]] = {}


def fault(name: str) -> Callable[[type[JpkiApplet]], type[JpkiApplet]]:
    def decorate(cls: type[JpkiApplet]) -> type[JpkiApplet]:
        cls.type_name = f"jpki-faulty-{name}"
        FAULTS[name] = cls
        return cls

    return decorate


def _as_if_every_pin_verified(
    applet: JpkiApplet, ctx: Context, process: Callable[[], ResponseApdu]
) -> ResponseApdu:
    """Run ``process`` (the applet's own processing) as if both PINs were verified, then put the verified
    state back as it was."""
    verified = applet.verified(ctx)
    before = set(verified)
    verified.update(PIN_EFS)
    try:
        return process()
    finally:
        verified.intersection_update(before)


def _set_file(data: dict[str, Any], fid: int, content: bytes) -> dict[str, Any]:
    data["files"][f"{fid:04X}"] = content.hex()
    return data


# -- files ------------------------------------------------------------------------------------------------


@fault("missing_ef")
class MissingEf(JpkiApplet):
    """EF 0008 is not there."""

    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        del data["files"][f"{EF_CERT_STATUS:04X}"]
        return data


@fault("ca_cert_protected")
class CaCertProtected(JpkiApplet):
    """The sign CA certificate (EF 0002) needs the sign password."""

    def read_condition(self, fid: int) -> int | None:
        return 0x001B if fid == EF_SIGN_CA else super().read_condition(fid)


@fault("sign_cert_free")
class SignCertFree(JpkiApplet):
    """EF 0001 is readable without the sign password."""

    def read_condition(self, fid: int) -> int | None:
        return None if fid == EF_SIGN_CERT else super().read_condition(fid)


@fault("auth_cert_free")
class AuthCertFree(JpkiApplet):
    """EF 000A is free although the GP-SE token protects it."""

    def read_condition(self, fid: int) -> int | None:
        return None if fid == EF_AUTH_CERT else super().read_condition(fid)


@fault("any_pin_opens")
class AnyPinOpens(JpkiApplet):
    """Any verified PIN opens the protected EFs."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins != 0xB0 or not self.verified(ctx):
            return super().process(ctx, apdu)
        return _as_if_every_pin_verified(self, ctx, partial(super().process, ctx, apdu))


@fault("offset_8bit")
class Offset8Bit(JpkiApplet):
    """READ BINARY ignores P1: offsets are taken modulo 256."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xB0 and not apdu.p1 & 0x80:
            apdu = dataclasses.replace(apdu, p1=0)
        return super().process(ctx, apdu)


@fault("past_end_ok")
class PastEndOk(JpkiApplet):
    """READ BINARY past the end answers 9000 with no data instead of 6B00."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super().process(ctx, apdu)
        return reply() if response.sw == SW.WRONG_P1P2 else response


@fault("cert_filler_first")
class CertFillerFirst(JpkiApplet):
    """Certificate EFs start with a filler byte before the DER object."""

    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        for fid in ("0001", "0002", "000A", "000B"):
            data["files"][fid] = "00" + data["files"][fid]
        return data


@fault("wrong_label")
class WrongLabel(JpkiApplet):
    """The GP-SE token carries the card's label."""

    def initial_data(self) -> dict[str, Any]:
        return _set_file(super().initial_data(), EF_TOKEN_INFO, token_info("JPKIAPICCTOKEN2"))


# -- PINs -------------------------------------------------------------------------------------------------


@fault("query_spends")
class QuerySpends(JpkiApplet):
    """The case-1 retry query spends an attempt."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        response = super().process(ctx, apdu)
        if apdu.ins == 0x20 and not apdu.data and apdu.ne is None and response.sw >> 4 == 0x63C:
            record = self.data["pins"].get(f"{ctx.session.get('ef', 0):04X}")
            if record and record["tries_left"]:
                record["tries_left"] -= 1
        return response


@fault("query_with_le")
class QueryWithLe(JpkiApplet):
    """Answers the retry query also when it carries an Le byte."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0x20 and not apdu.data and apdu.ne is not None:
            apdu = dataclasses.replace(apdu, ne=None)
        return super().process(ctx, apdu)


@fault("no_decrement")
class NoDecrement(JpkiApplet):
    """A wrong VERIFY answers 63Cx but never lowers the counter."""

    def on_wrong_pin(self, record: dict[str, Any]) -> None:
        pass


@fault("no_reset_on_success")
class NoResetOnSuccess(JpkiApplet):
    """A right VERIFY does not restore the counter to its maximum."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        fid = ctx.session.get("ef")
        record = self.data["pins"].get(f"{fid:04X}") if isinstance(fid, int) else None
        before = int(record["tries_left"]) if record else None
        response = super().process(ctx, apdu)
        if record is not None and apdu.ins == 0x20 and apdu.data and response.ok:
            record["tries_left"] = before
        return response


@fault("blocked_6983")
class Blocked6983(JpkiApplet):
    """A blocked PIN answers 6983 instead of 6984 (jpki-signer-android's reading,
    docs/spec/jpki-applet.md#pin-states-and-blocking)."""

    def blocked_sw(self) -> int:
        return SW.AUTH_METHOD_BLOCKED


@fault("blocked_accepts_right")
class BlockedAcceptsRight(JpkiApplet):
    """A blocked PIN still accepts the right value."""

    def blocked_sw(self) -> int:
        return SW.OK


@fault("lowercase_ok")
class LowercaseOk(JpkiApplet):
    """Upper-cases the VERIFY value before comparing, so a lowercase password verifies."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0x20 and apdu.data:
            apdu = dataclasses.replace(apdu, data=apdu.data.upper())
        return super().process(ctx, apdu)


@fault("state_kept")
class StateKept(JpkiApplet):
    """The verified state lives in the applet, not the channel session: re-select and reset keep it, and
    all channels share it."""

    def verified(self, ctx: Context) -> set[int]:
        if not hasattr(self, "_sticky"):
            self._sticky: set[int] = set()
        return self._sticky


@fault("change_without_verify")
class ChangeWithoutVerify(JpkiApplet):
    """CHANGE REFERENCE DATA works without a VERIFY."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0x24 and not apdu.cla & 0x80:
            fid = ctx.session.get("ef")
            if isinstance(fid, int):
                self.verified(ctx).add(fid)
        return super().process(ctx, apdu)


@fault("change_ignored")
class ChangeIgnored(JpkiApplet):
    """CHANGE REFERENCE DATA answers 9000 but keeps the old value."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0x24 and not apdu.cla & 0x80:
            fid = ctx.session.get("ef")
            if isinstance(fid, int) and fid in self.verified(ctx) and apdu.p1 == 0x01:
                return reply()
        return super().process(ctx, apdu)


@fault("change_any_value")
class ChangeAnyValue(JpkiApplet):
    """CHANGE REFERENCE DATA does not check the PIN rules."""

    def rules(self, which: str) -> dict[str, Any]:
        return {**super().rules(which), "min_length": 1, "max_length": 16, "charset": "printable"}


@fault("overlong_spends")
class OverlongSpends(JpkiApplet):
    """A VERIFY longer than 16 bytes is compared (and spends an attempt) instead of 6700."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0x20 and len(apdu.data) > 16:
            apdu = dataclasses.replace(apdu, data=b"\xff" * 16)  # compared, so a wrong value
        return super().process(ctx, apdu)


# -- signatures -------------------------------------------------------------------------------------------


@fault("sign_without_pin")
class SignWithoutPin(JpkiApplet):
    """Signs without checking the PIN."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not (apdu.cla & 0x80 and apdu.ins == 0x2A):
            return super().process(ctx, apdu)
        return _as_if_every_pin_verified(self, ctx, partial(super().process, ctx, apdu))


@fault("bare_hash")
class BareHash(JpkiApplet):
    """Pads only the hash at the end of the DigestInfo (drops the algorithm identifier)."""

    def sign(self, key: rsa.RSAPrivateKey, data: bytes) -> bytes:
        return super().sign(key, data[-32:])


@fault("no_length_check")
class NoLengthCheck(JpkiApplet):
    """Signs any length, padding with fewer than 8 FF bytes (or none) when the data is long."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        fid = ctx.session.get("ef")
        long_or_empty = not apdu.data or len(apdu.data) > 245
        if apdu.cla & 0x80 and apdu.ins == 0x2A and long_or_empty and KEY_PIN.get(fid) in self.verified(ctx):
            nums = load_key(self.data["keys"][f"{fid:04X}"]).private_numbers()
            em = (b"\x00\x01" + b"\xff" * max(0, 253 - len(apdu.data)) + b"\x00" + apdu.data)[:256]
            signature = pow(int.from_bytes(em, "big"), nums.d, nums.public_numbers.n)
            return reply(SW.OK, signature.to_bytes(256, "big"))
        return super().process(ctx, apdu)


# -- certificates -----------------------------------------------------------------------------------------


Mutation = Callable[[x509.CertificateBuilder, x509.Certificate], x509.CertificateBuilder]


@cache
def ca_key(purpose: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(read_file(f"{purpose}-ca-key.pem"), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def rebuild(
    label: str,
    mutate: Mutation | None = None,
    drop: tuple[x509.ObjectIdentifier, ...] = (),
    key: rsa.RSAPrivateKey | None = None,
    algorithm: hashes.HashAlgorithm | None = None,
    subject: x509.Name | None = None,
) -> bytes:
    """The persona certificate ``label`` rebuilt with a change: extensions ``drop``ped, ``mutate`` applied
    to the builder, another ``subject`` or public ``key``; signed by the persona CA key of its purpose (a
    root with a new ``key`` signs itself) with ``algorithm`` (default SHA-256)."""
    original = x509.load_der_x509_certificate(load_persona().certs[label])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or original.subject)
        .issuer_name(original.issuer)
        .public_key(key.public_key() if key else original.public_key())  # type: ignore[arg-type]
        .serial_number(original.serial_number)
        .not_valid_before(original.not_valid_before_utc)
        .not_valid_after(original.not_valid_after_utc)
    )
    for ext in original.extensions:
        if ext.oid not in drop:
            builder = builder.add_extension(ext.value, ext.critical)
    if mutate:
        builder = mutate(builder, original)
    signer = key if key and label.endswith("-ca") else ca_key(label.removesuffix("-ca"))
    return builder.sign(signer, algorithm or hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@fault("root_ku_not_critical")
class RootKuNotCritical(JpkiApplet):
    """The auth CA certificate's keyUsage is not critical."""

    def initial_data(self) -> dict[str, Any]:
        def not_critical(b: x509.CertificateBuilder, original: x509.Certificate) -> x509.CertificateBuilder:
            return b.add_extension(original.extensions.get_extension_for_class(x509.KeyUsage).value, False)

        der = rebuild("auth-ca", not_critical, drop=(ExtensionOID.KEY_USAGE,))
        return _set_file(super().initial_data(), 0x000B, der)


@fault("sign_root_not_ca")
class SignRootNotCa(JpkiApplet):
    """The sign CA certificate's basicConstraints say it is not a CA."""

    def initial_data(self) -> dict[str, Any]:
        def not_ca(b: x509.CertificateBuilder, original: x509.Certificate) -> x509.CertificateBuilder:
            return b.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)

        der = rebuild("sign-ca", not_ca, drop=(ExtensionOID.BASIC_CONSTRAINTS,))
        return _set_file(super().initial_data(), 0x0002, der)


@fault("auth_cert_personal")
class AuthCertPersonal(JpkiApplet):
    """The auth certificate's subject carries a locality (personal data; docs/spec/jpki-applet.md,
    "User-authentication certificate")."""

    def initial_data(self) -> dict[str, Any]:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.LOCALITY_NAME, "Chiyoda-ku"),
                x509.NameAttribute(NameOID.COMMON_NAME, "JKTEST0000AUTH00000001A"),
            ]
        )
        der = rebuild("auth", subject=subject)
        return _set_file(super().initial_data(), EF_AUTH_CERT, der)


@fault("sign_policy_production")
class SignPolicyProduction(JpkiApplet):
    """The JPKI-TEST sign certificate carries the production policy OID."""

    def initial_data(self) -> dict[str, Any]:
        policy = x509.CertificatePolicies(
            [x509.PolicyInformation(x509.ObjectIdentifier("1.2.392.200149.8.5.1.1.20"), None)]
        )
        der = rebuild(
            "sign", lambda b, _: b.add_extension(policy, True), drop=(ExtensionOID.CERTIFICATE_POLICIES,)
        )
        return _set_file(super().initial_data(), EF_SIGN_CERT, der)


# -- factories ----------------------------------------------------------------------------------------------


def faulty_type(name: str, base: type[Applet]) -> type[Applet]:
    """The applet class ``base`` (the personality's own JPKI applet class) with fault ``name`` in front of
    it, so that the faulty card differs from the reference in that one fault only."""
    type_name = f"{base.type_name}-faulty-{name}"
    return type(f"{FAULTS[name].__name__}_{base.__name__}", (FAULTS[name], base), {"type_name": type_name})


def _factory(name: str) -> Callable[[str | None, Path | None], Card]:
    def make(personality: str | None, state: Path | None) -> Card:
        base = get_personality(personality or "gp-se")
        types = dict(base.applet_types)
        applets = []
        for spec in base.applets:
            cls = base.applet_types[spec.type_name]
            if issubclass(cls, JpkiApplet):
                faulty = faulty_type(name, cls)
                types[faulty.type_name] = faulty
                spec = dataclasses.replace(spec, type_name=faulty.type_name)
            applets.append(spec)
        return Card(dataclasses.replace(base, applets=tuple(applets), applet_types=types), state)

    make.__doc__ = FAULTS[name].__doc__
    return make


globals().update({name: _factory(name) for name in FAULTS})


#: PINs of a lab's own unit (tests/test_campaign_and_leaks.py): not the public test persona's.
LAB_PINS = {"auth": "7391", "sign": "QZ7W2K"}


def no_decrement_lab_pins(personality: str | None, state: Path | None) -> Card:
    """The ``no_decrement`` fault on a card whose PINs are :data:`LAB_PINS`."""
    card = globals()["no_decrement"](personality, state)
    for entry in card.registry.values():
        if isinstance(entry.applet, JpkiApplet):
            for fid, which in PIN_EFS.items():
                entry.applet.data["pins"][f"{fid:04X}"]["value"] = LAB_PINS[which]
    return card
