"""Deliberately non-conforming JPKI applets, one fault each, to show every JPKI conformance test can fail.

Each fault is a JpkiApplet subclass; ``factory(personality, state)`` (for a profile's
``ixit.transport.factory``) builds the bundled personality with the JPKI applet swapped for it. A few
faults live in the card around the applet (what a reset or a power cycle keeps, how SELECT switches
applications, which applications are installed): Card subclasses or changed personalities, at the end.
The catalogue (tests/faults/jpki.yaml) names, for each, the requirement it breaks and the check that must
catch it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.x509.oid import ExtensionOID, NameOID

from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.emulator.jpki import (
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
    KEY_PIN,
    PIN_EFS,
    CardFaceApplet,
    JpkiApplet,
    load_key,
    token_info,
)
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.personality import AppletSpec, Personality
from jpkikit.reference.emulator.runtime import Card, Channel, RegistryEntry
from jpkikit.reference.persona import load_persona, read_file
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_channel
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.applications import CARD_ONLY_APS, TEXT_INPUT_AID
from jpkikit.vocab.jpki.pkcs1 import digest_info, sign_data
from jpkikit.vocab.jpki.signature_schemes import PREHASHED, PSS, SignatureScheme, message_hash

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


# -- files: more faults ----------------------------------------------------------------------------------


def _offset(apdu: CommandApdu) -> int:
    return apdu.p2 if apdu.p1 & 0x80 else (apdu.p1 << 8) | apdu.p2


@fault("select_absent_ok")
class SelectAbsentOk(JpkiApplet):
    """SELECT of a file identifier the application does not hold answers 9000."""

    def _exists(self, fid: int) -> bool:
        return True


@fault("select_ef_returns_fcp")
class SelectEfReturnsFcp(JpkiApplet):
    """SELECT EF answers an FCP template although P2=0C asks for no response data."""

    def _select_ef(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._select_ef(ctx, apdu)
        return reply(SW.OK, bytes.fromhex("6203820101")) if r.ok and apdu.p1 == 0x02 else r


@fault("select_ef_fcp_only")
class SelectEfFcpOnly(JpkiApplet):
    """SELECT of a data EF (certificates, token information) knows only P2=00 (FCP requested) and refuses
    the P2=0C every client sends with 6A86; PIN and key EFs take P2=0C."""

    def _select_ef(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        data_ef = apdu.data and f"{int.from_bytes(apdu.data, 'big'):04X}" in self.data["files"]
        if apdu.p1 == 0x02 and apdu.p2 == 0x0C and data_ef:
            return reply(SW.INCORRECT_P1P2)
        return super()._select_ef(ctx, apdu)


@fault("absent_ef_6a86")
class AbsentEf6A86(JpkiApplet):
    """SELECT of a missing EF answers 6A86 instead of 6A82."""

    def _select_ef(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._select_ef(ctx, apdu)
        return reply(SW.INCORRECT_P1P2) if r.sw == SW.FILE_NOT_FOUND else r


@fault("key_efs_not_selectable")
class KeyEfsNotSelectable(JpkiApplet):
    """The key EFs 0017 and 001A cannot be selected (6A82): only data and PIN EFs are in the file table."""

    def _exists(self, fid: int) -> bool:
        return fid not in KEY_PIN and super()._exists(fid)


@fault("token_info_tracks_login")
class TokenInfoTracksLogin(JpkiApplet):
    """EF 0006 reports the login state: its session count (CK_TOKEN_INFO offset 104) changes once a PIN is
    verified, so a free EF reads differently after VERIFY."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._read_binary(ctx, apdu)
        pos = 107 - _offset(apdu)
        if r.ok and ctx.session.get("ef") == EF_TOKEN_INFO and self.verified(ctx) and 0 <= pos < len(r.data):
            data = bytearray(r.data)
            data[pos] ^= 0x01
            return reply(SW.OK, bytes(data))
        return r


@fault("auth_cert_protected")
class AuthCertProtected(JpkiApplet):
    """EF 000A needs the auth PIN on the card too, where the ICS says it is free."""

    def read_condition(self, fid: int) -> int | None:
        return EF_AUTH_PIN if fid == EF_AUTH_CERT else super().read_condition(fid)


@fault("cert_status_protected")
class CertStatusProtected(JpkiApplet):
    """EF 0008 (certificate presence) needs the auth PIN."""

    def read_condition(self, fid: int) -> int | None:
        return EF_AUTH_PIN if fid == EF_CERT_STATUS else super().read_condition(fid)


@fault("free_ef_short_before_verify")
class FreeEfShortBeforeVerify(JpkiApplet):
    """EF 000B shows only its first 256 bytes until a PIN is verified (6B00 after them)."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._read_binary(ctx, apdu)
        if not (r.ok and ctx.session.get("ef") == EF_AUTH_CA and not self.verified(ctx)):
            return r
        offset = _offset(apdu)
        return reply(SW.WRONG_P1P2) if offset >= 256 else reply(SW.OK, r.data[: 256 - offset])


@fault("protected_header_only")
class ProtectedHeaderOnly(JpkiApplet):
    """The access rule of a protected EF is checked only for a read at offset 0: the header is refused,
    the rest of the certificate is not."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _offset(apdu):
            return _as_if_every_pin_verified(self, ctx, partial(super()._read_binary, ctx, apdu))
        return super()._read_binary(ctx, apdu)


@fault("protected_sfi_bypass")
class ProtectedSfiBypass(JpkiApplet):
    """READ BINARY by short EF identifier (P1 = 80 + SFI) skips the access rule."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 & 0x80:
            return _as_if_every_pin_verified(self, ctx, partial(super()._read_binary, ctx, apdu))
        return super()._read_binary(ctx, apdu)


@fault("protected_leaks_header")
class ProtectedLeaksHeader(JpkiApplet):
    """A refused read of a protected EF answers 6982 but sends the bytes asked for with it."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._read_binary(ctx, apdu)
        if r.sw != SW.SECURITY_STATUS_NOT_SATISFIED:
            return r
        content = self._file(ctx.session.get("ef") if not apdu.p1 & 0x80 else apdu.p1 & 0x1F) or b""
        offset = _offset(apdu)
        return reply(SW.SECURITY_STATUS_NOT_SATISFIED, content[offset : offset + (apdu.ne or 256)])


@fault("odd_offset_rounded")
class OddOffsetRounded(JpkiApplet):
    """READ BINARY rounds the offset down to an even value (word-aligned storage)."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xB0 and not apdu.p1 & 0x80:
            apdu = dataclasses.replace(apdu, p2=apdu.p2 & 0xFE)
        return super().process(ctx, apdu)


@fault("end_off_by_one")
class EndOffByOne(JpkiApplet):
    """READ BINARY exactly at the end of the EF answers 9000 with no data; only past it 6B00."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._read_binary(ctx, apdu)
        content = self._file(ctx.session.get("ef"))
        if r.sw == SW.WRONG_P1P2 and content is not None and _offset(apdu) == len(content):
            return reply()
        return r


@fault("past_end_6a86")
class PastEnd6A86(JpkiApplet):
    """READ BINARY past the end answers 6A86 (incorrect P1-P2) instead of 6B00."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._read_binary(ctx, apdu)
        return reply(SW.INCORRECT_P1P2) if r.sw == SW.WRONG_P1P2 else r


@fault("past_end_6282")
class PastEnd6282(JpkiApplet):
    """READ BINARY past the end answers 6282 (end of file) with no data instead of 6B00."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._read_binary(ctx, apdu)
        return reply(SW.END_OF_FILE) if r.sw == SW.WRONG_P1P2 else r


def _certificates(data: dict[str, Any], change: Callable[[bytes], bytes]) -> dict[str, Any]:
    for fid in (EF_SIGN_CERT, EF_SIGN_CA, EF_AUTH_CERT, EF_AUTH_CA):
        key = f"{fid:04X}"
        data["files"][key] = change(bytes.fromhex(data["files"][key])).hex()
    return data


@fault("der_length_lies")
class DerLengthLies(JpkiApplet):
    """The certificate EFs' DER headers announce 4 bytes more than the EFs hold."""

    def initial_data(self) -> dict[str, Any]:
        def lie(der: bytes) -> bytes:
            return der[:2] + (int.from_bytes(der[2:4], "big") + 4).to_bytes(2, "big") + der[4:]

        return _certificates(super().initial_data(), lie)


@fault("der_long_form")
class DerLongForm(JpkiApplet):
    """The certificates are stored with a non-minimal three-byte length (30 83 00 LL LL), which BER allows
    and DER and OpenSC's 4-byte header read do not."""

    def initial_data(self) -> dict[str, Any]:
        return _certificates(super().initial_data(), lambda der: b"\x30\x83\x00" + der[2:])


@fault("cert_truncated")
class CertTruncated(JpkiApplet):
    """The certificate EFs hold only the first 768 bytes of their certificates (a torn personalisation)."""

    def initial_data(self) -> dict[str, Any]:
        return _certificates(super().initial_data(), lambda der: der[:0x300])


def _with_status(content: bytes) -> Callable[[type[JpkiApplet]], type[JpkiApplet]]:
    def decorate(cls: type[JpkiApplet]) -> type[JpkiApplet]:
        def initial_data(self: JpkiApplet) -> dict[str, Any]:
            return _set_file(super(cls, self).initial_data(), EF_CERT_STATUS, content)

        cls.initial_data = initial_data  # type: ignore[method-assign]
        return cls

    return decorate


@fault("cert_status_sign_absent")
@_with_status(b"\x00\x8f\x00")
class CertStatusSignAbsent(JpkiApplet):
    """EF 0008 says the signature certificate is absent (00 8F 00) while EF 0001 holds it."""


@fault("cert_status_short")
@_with_status(b"\x8f\x8f")
class CertStatusShort(JpkiApplet):
    """EF 0008 holds 2 bytes (8F 8F), not 3."""


@fault("cert_status_uninitialised")
@_with_status(b"\xff" * 16)
class CertStatusUninitialised(JpkiApplet):
    """EF 0008 was never written: 16 bytes of FF."""


@fault("sign_cert_deleted_status_kept")
class SignCertDeletedStatusKept(JpkiApplet):
    """The signature certificate was deleted but EF 0008 still says 8F 8F 00."""

    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        del data["files"][f"{EF_SIGN_CERT:04X}"]
        return data


def _label_field(label: bytes) -> Callable[[type[JpkiApplet]], type[JpkiApplet]]:
    """A token-information EF whose first 32 bytes are ``label`` (the rest as the reference has it), or
    ``label`` alone when it is shorter than 32 bytes and ends the EF."""

    def decorate(cls: type[JpkiApplet]) -> type[JpkiApplet]:
        def initial_data(self: JpkiApplet) -> dict[str, Any]:
            data = super(cls, self).initial_data()
            info = bytes.fromhex(data["files"][f"{EF_TOKEN_INFO:04X}"])
            content = label if len(label) < 32 else label + info[32:]
            return _set_file(data, EF_TOKEN_INFO, content)

        cls.initial_data = initial_data  # type: ignore[method-assign]
        return cls

    return decorate


@fault("label_lowercase")
@_label_field(b"jpkiapgpsetoken".ljust(32))
class LabelLowercase(JpkiApplet):
    """The token label is in lower case (jpkiapgpsetoken)."""


@fault("label_unpadded")
@_label_field(b"JPKIAPGPSETOKEN")
class LabelUnpadded(JpkiApplet):
    """EF 0006 holds the 15-character label alone, not a 32-byte space-padded field."""


@fault("label_ff_padded")
@_label_field(b"JPKIAPGPSETOKEN".ljust(32, b"\xff"))
class LabelFfPadded(JpkiApplet):
    """The label field is padded with FF bytes instead of spaces."""


@fault("label_leading_space")
@_label_field(b" JPKIAPGPSETOKEN".ljust(32))
class LabelLeadingSpace(JpkiApplet):
    """The label is preceded by a space (right-aligned field)."""


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


# -- PINs: more faults -----------------------------------------------------------------------------------


def _is_query(apdu: CommandApdu) -> bool:
    return apdu.ins == 0x20 and not apdu.cla & 0x80 and not apdu.data and apdu.ne is None


def _current_pin(applet: JpkiApplet, ctx: Context) -> tuple[int | None, dict[str, Any] | None]:
    fid = ctx.session.get("ef")
    record = applet.data["pins"].get(f"{fid:04X}") if isinstance(fid, int) else None
    return fid, record


@fault("query_reports_maximum")
class QueryReportsMaximum(JpkiApplet):
    """The retry query always reports the claimed maximum, whatever the counter holds."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        fid, record = _current_pin(self, ctx)
        if _is_query(apdu) and record is not None and r.sw >> 4 == 0x63C:
            return reply(0x63C0 | self.rules(PIN_EFS[fid])["tries"])
        return r


@fault("query_9000_when_full")
class Query9000WhenFull(JpkiApplet):
    """Once a PIN has been verified, its retry query answers 9000 instead of 63Cx while the counter is at its
    maximum (OpenSC then cannot read the tries left)."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        fid, record = _current_pin(self, ctx)
        if record is None:
            return r
        if r.ok and apdu.data:
            record["seen"] = True
        at_maximum = record["tries_left"] == self.rules(PIN_EFS[fid])["tries"]
        return reply() if _is_query(apdu) and record.get("seen") and at_maximum else r


@fault("query_off_by_one")
class QueryOffByOne(JpkiApplet):
    """The retry query reports one try fewer than the counter holds."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        if _is_query(apdu) and r.sw >> 4 == 0x63C:
            return reply(0x63C0 | max(0, (r.sw & 0x0F) - 1))
        return r


@fault("query_wrong_counter")
class QueryWrongCounter(JpkiApplet):
    """The retry query reports the auth PIN's counter whichever PIN EF is current."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        if _is_query(apdu) and r.sw >> 4 == 0x63C:
            return reply(0x63C0 | int(self.data["pins"][f"{EF_AUTH_PIN:04X}"]["tries_left"]))
        return r


@fault("le_query_spends")
class LeQuerySpends(JpkiApplet):
    """The query with an Le byte answers 6700 but counts as a failed VERIFY."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        _, record = _current_pin(self, ctx)
        if not apdu.data and apdu.ne is not None and record is not None:
            self.on_wrong_pin(record)
        return super()._verify(ctx, apdu)


@fault("le_query_6a86")
class LeQuery6A86(JpkiApplet):
    """The query with an Le byte answers 6A86 instead of 6700."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        return reply(SW.INCORRECT_P1P2) if not apdu.data and apdu.ne is not None else r


@fault("le_query_returns_count")
class LeQueryReturnsCount(JpkiApplet):
    """The query with an Le byte answers the tries left as one data byte and 9000."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        _, record = _current_pin(self, ctx)
        if not apdu.data and apdu.ne is not None and record is not None:
            return reply(SW.OK, bytes((int(record["tries_left"]),)))
        return super()._verify(ctx, apdu)


@fault("prefix_match")
class PrefixMatch(JpkiApplet):
    """VERIFY compares only as many bytes as were sent: any prefix of the PIN verifies."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        _, record = _current_pin(self, ctx)
        value = str(record["value"]).encode("ascii") if record else b""
        if apdu.data and value.startswith(apdu.data):
            apdu = dataclasses.replace(apdu, data=value)
        return super()._verify(ctx, apdu)


@fault("trailing_ignored")
class TrailingIgnored(JpkiApplet):
    """VERIFY compares only the PIN's length: bytes after it are ignored."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        _, record = _current_pin(self, ctx)
        value = str(record["value"]).encode("ascii") if record else b""
        if value and len(apdu.data) <= 16 and apdu.data.startswith(value):
            apdu = dataclasses.replace(apdu, data=value)
        return super()._verify(ctx, apdu)


@fault("decrement_by_two")
class DecrementByTwo(JpkiApplet):
    """A wrong VERIFY costs two tries."""

    def on_wrong_pin(self, record: dict[str, Any]) -> None:
        record["tries_left"] = max(0, int(record["tries_left"]) - 2)


@fault("blocked_wrong_63c0")
class BlockedWrong63C0(JpkiApplet):
    """A blocked PIN answers 6984 to the right value but 63C0 to a wrong one."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        _, record = _current_pin(self, ctx)
        r = super()._verify(ctx, apdu)
        if r.sw == SW.REFERENCE_DATA_NOT_USABLE and record and apdu.data != str(record["value"]).encode():
            return reply(0x63C0)
        return r


@fault("blocks_early")
class BlocksEarly(JpkiApplet):
    """The wrong VERIFY that uses the last try answers 6984 instead of 63C0."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        return reply(SW.REFERENCE_DATA_NOT_USABLE) if apdu.data and r.sw == 0x63C0 else r


@fault("blocking_blocks_other")
class BlockingBlocksOther(JpkiApplet):
    """Blocking one PIN blocks the other too (one shared lock flag)."""

    def on_wrong_pin(self, record: dict[str, Any]) -> None:
        super().on_wrong_pin(record)
        if int(record["tries_left"]) == 0:
            for other in self.data["pins"].values():
                other["tries_left"] = 0


@fault("query_6984_when_blocked")
class Query6984WhenBlocked(JpkiApplet):
    """The retry query of a blocked PIN answers 6984 instead of 63C0."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        return reply(SW.REFERENCE_DATA_NOT_USABLE) if _is_query(apdu) and r.sw == 0x63C0 else r


class _StickyState(JpkiApplet):
    """Base of the faults that keep a verified state outside the channel session: ``sticky`` maps a channel
    number to PIN EFs; what the runtime clears (the session) does not clear it."""

    def sticky(self, ctx: Context) -> set[int]:
        if not hasattr(self, "_sticky"):
            self._sticky: dict[int, set[int]] = {}
        return self._sticky.setdefault(ctx.channel, set())


@fault("logout_only_on_reselect")
class LogoutOnlyOnReselect(_StickyState):
    """The verified state is cleared only by a re-SELECT of the application while it is current: a reset, or
    another application selected in between, leaves it (a CLEAR_ON_RESET flag cleared in select())."""

    def verified(self, ctx: Context) -> set[int]:
        return self.sticky(ctx)

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if getattr(self, "_current", {}).get(ctx.channel):
            self.sticky(ctx).clear()
        self._current = {**getattr(self, "_current", {}), ctx.channel: True}
        return super().select(ctx, apdu)

    def deselect(self, ctx: Context) -> None:
        self._current = {**getattr(self, "_current", {}), ctx.channel: False}
        super().deselect(ctx)


@fault("read_permission_sticky")
class ReadPermissionSticky(_StickyState):
    """Reading EF 0001 is permitted by a flag of its own, set by the sign password's VERIFY and cleared only
    at a reset: a re-SELECT clears the signing permission but not the read permission."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        if r.ok and apdu.data and ctx.session.get("ef") == EF_SIGN_PIN:
            self.sticky(ctx).add(EF_SIGN_PIN)
        return r

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if EF_SIGN_PIN in self.sticky(ctx):
            return _as_if_every_pin_verified(self, ctx, partial(super()._read_binary, ctx, apdu))
        return super()._read_binary(ctx, apdu)


@fault("change_refused_but_applied")
class ChangeRefusedButApplied(JpkiApplet):
    """CHANGE REFERENCE DATA without VERIFY answers 6982 but stores the new value anyway."""

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        _, record = _current_pin(self, ctx)
        r = super()._change(ctx, apdu)
        if r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and record is not None:
            record["value"] = apdu.data.decode("ascii", "replace")
        return r


@fault("change_any_pin_verified")
class ChangeAnyPinVerified(JpkiApplet):
    """CHANGE REFERENCE DATA is allowed once any PIN is verified."""

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not self.verified(ctx):
            return super()._change(ctx, apdu)
        return _as_if_every_pin_verified(self, ctx, partial(super()._change, ctx, apdu))


@fault("change_permission_survives_reselect")
class ChangePermissionSurvivesReselect(_StickyState):
    """The permission to change a PIN, set by its VERIFY, is kept until a reset: a re-SELECT does not clear
    it."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        if r.ok and apdu.data and isinstance(ctx.session.get("ef"), int):
            self.sticky(ctx).add(ctx.session["ef"])
        return r

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if ctx.session.get("ef") in self.sticky(ctx):
            self.verified(ctx).add(ctx.session["ef"])
        return super()._change(ctx, apdu)


@fault("change_6985")
class Change6985(JpkiApplet):
    """CHANGE REFERENCE DATA without VERIFY answers 6985 (conditions of use) instead of 6982."""

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._change(ctx, apdu)
        return reply(SW.CONDITIONS_NOT_SATISFIED) if r.sw == SW.SECURITY_STATUS_NOT_SATISFIED else r


def _rules_changed(**change: int) -> Callable[[JpkiApplet, str], dict[str, Any]]:
    def rules(self: JpkiApplet, which: str) -> dict[str, Any]:
        base = JpkiApplet.rules(self, which)
        return {**base, **{k: base[k] + v for k, v in change.items()}}

    return rules


@fault("change_max_plus_one")
class ChangeMaxPlusOne(JpkiApplet):
    """CHANGE REFERENCE DATA accepts one character more than max_length (the length check is off by one)."""

    rules = _rules_changed(max_length=1)  # type: ignore[assignment]


@fault("change_min_minus_one")
class ChangeMinMinusOne(JpkiApplet):
    """CHANGE REFERENCE DATA accepts one character fewer than min_length."""

    rules = _rules_changed(min_length=-1)  # type: ignore[assignment]


@fault("change_upper_cases")
class ChangeUpperCases(JpkiApplet):
    """CHANGE REFERENCE DATA upper-cases the new value before checking and storing it."""

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return super()._change(ctx, dataclasses.replace(apdu, data=apdu.data.upper()))


@fault("change_error_but_stored")
class ChangeErrorButStored(JpkiApplet):
    """CHANGE REFERENCE DATA refuses a value outside the rules with 6A80, but has stored it already."""

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        _, record = _current_pin(self, ctx)
        r = super()._change(ctx, apdu)
        if r.sw == SW.WRONG_DATA and record is not None:
            record["value"] = apdu.data.decode("ascii", "replace")
        return r


@fault("change_rules_6985")
class ChangeRules6985(JpkiApplet):
    """CHANGE REFERENCE DATA refuses a value outside the rules with 6985 instead of 6A80."""

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._change(ctx, apdu)
        return reply(SW.CONDITIONS_NOT_SATISFIED) if r.sw == SW.WRONG_DATA else r


@fault("overlong_6700_spends")
class Overlong6700Spends(JpkiApplet):
    """A VERIFY of more than 16 bytes answers 6700 but costs a try."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        _, record = _current_pin(self, ctx)
        if len(apdu.data) > 16 and record is not None:
            self.on_wrong_pin(record)
        return super()._verify(ctx, apdu)


@fault("overlong_6a80")
class Overlong6A80(JpkiApplet):
    """A VERIFY of more than 16 bytes answers 6A80 instead of 6700."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._verify(ctx, apdu)
        return reply(SW.WRONG_DATA) if len(apdu.data) > 16 and r.sw == SW.WRONG_LENGTH else r


@fault("verify_limit_15")
class VerifyLimit15(JpkiApplet):
    """VERIFY refuses 16 bytes with 6700: the data field limit is off by one."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return reply(SW.WRONG_LENGTH) if len(apdu.data) == 16 else super()._verify(ctx, apdu)


@fault("shared_state_across_channels")
class SharedStateAcrossChannels(_StickyState):
    """One verified state for all logical channels (cleared by any SELECT of the application)."""

    def verified(self, ctx: Context) -> set[int]:
        return self.sticky(dataclasses.replace(ctx, channel=0))

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        self.verified(ctx).clear()
        return super().select(ctx, apdu)


@fault("verify_channel_bits_rejected")
class VerifyChannelBitsRejected(JpkiApplet):
    """VERIFY with channel bits in the class (01-03) is refused with 6881: only the basic channel's VERIFY
    is decoded."""

    def _verify(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla & 0x03:
            return reply(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
        return super()._verify(ctx, apdu)


@fault("not_multiselectable")
class NotMultiselectable(JpkiApplet):
    """The JPKI application cannot be selected on a second channel while it is selected on another."""

    multiselectable = False


@fault("read_without_ef_6a82")
class ReadWithoutEf6A82(JpkiApplet):
    """READ BINARY with no current EF answers 6A82 instead of 6986."""

    def _read_binary(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._read_binary(ctx, apdu)
        return reply(SW.FILE_NOT_FOUND) if r.sw == SW.NO_CURRENT_EF else r


@fault("global_current_ef")
class GlobalCurrentEf(JpkiApplet):
    """The current EF is one for the whole application, not one per logical channel."""

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        shared = getattr(self, "_ef", None)
        if shared is not None:
            ctx.session["ef"] = shared
        try:
            return super().process(ctx, apdu)
        finally:
            if "ef" in ctx.session:
                self._ef = ctx.session["ef"]


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


# -- signatures: more faults -----------------------------------------------------------------------------


def _is_sign(apdu: CommandApdu) -> bool:
    return bool(apdu.cla & 0x80) and apdu.ins == 0x2A


@fault("keys_swapped")
class KeysSwapped(JpkiApplet):
    """Key EF 0017 holds the sign key and 001A the auth key (swapped at personalisation)."""

    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        keys = data["keys"]
        keys[f"{EF_AUTH_KEY:04X}"], keys[f"{EF_SIGN_KEY:04X}"] = (
            keys[f"{EF_SIGN_KEY:04X}"],
            keys[f"{EF_AUTH_KEY:04X}"],
        )
        return data


@fault("signature_255")
class Signature255(JpkiApplet):
    """The signature comes back with its last byte cut off (Le 00 taken as 255)."""

    def sign(self, key: rsa.RSAPrivateKey, data: bytes) -> bytes:
        return super().sign(key, data)[:255]


@fault("type2_padding")
class Type2Padding(JpkiApplet):
    """Pads with random non-zero bytes (block type 2, the encryption padding) instead of FF (type 1)."""

    def sign(self, key: rsa.RSAPrivateKey, data: bytes) -> bytes:
        nums = key.private_numbers()
        k = key.key_size // 8
        em = b"\x00\x02" + bytes((i % 251) + 1 for i in range(k - len(data) - 3)) + b"\x00" + data
        return pow(int.from_bytes(em, "big"), nums.d, nums.public_numbers.n).to_bytes(k, "big")


@fault("double_hash")
class DoubleHash(JpkiApplet):
    """P1 00 hashes the DigestInfo it is given again and signs the SHA-256 DigestInfo of that (P1 03)."""

    def sign(self, key: rsa.RSAPrivateKey, data: bytes) -> bytes:
        return sign_data(key, digest_info("sha256", hashlib.sha256(data).digest()))


@fault("sign_any_pin")
class SignAnyPin(JpkiApplet):
    """Either verified PIN lets either key sign."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not self.verified(ctx):
            return super()._compute_signature(ctx, apdu)
        return _as_if_every_pin_verified(self, ctx, partial(super()._compute_signature, ctx, apdu))


@fault("sign_p2_bypass")
class SignP2Bypass(JpkiApplet):
    """A key named in P2 (80 + its short EF identifier) signs without the PIN check."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p2 != 0x80:
            return _as_if_every_pin_verified(self, ctx, partial(super()._compute_signature, ctx, apdu))
        return super()._compute_signature(ctx, apdu)


@fault("unverified_sign_9000")
class UnverifiedSign9000(JpkiApplet):
    """Signing without VERIFY answers 9000 with no signature instead of 6982."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._compute_signature(ctx, apdu)
        return reply() if r.sw == SW.SECURITY_STATUS_NOT_SATISFIED else r


def _raw_type1(key: rsa.RSAPrivateKey, data: bytes, padding_length: int) -> bytes:
    """00 01, ``padding_length`` FF bytes, 00, data, then RSA: to make signatures with too little padding."""
    nums = key.private_numbers()
    em = b"\x00\x01" + b"\xff" * padding_length + b"\x00" + data
    return pow(int.from_bytes(em, "big"), nums.d, nums.public_numbers.n).to_bytes(key.key_size // 8, "big")


@fault("accepts_246")
class Accepts246(JpkiApplet):
    """P1 00 signs 246 bytes (k - 10), leaving 7 bytes of FF padding: the length check is off by one."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        fid = ctx.session.get("ef")
        if apdu.p1 or len(apdu.data) != 246 or KEY_PIN.get(fid) not in self.verified(ctx):
            return super()._compute_signature(ctx, apdu)
        return reply(SW.OK, _raw_type1(load_key(self.data["keys"][f"{fid:04X}"]), apdu.data, 7))


@fault("refuses_245")
class Refuses245(JpkiApplet):
    """P1 00 refuses 245 bytes (k - 11) with 6700: the length check is off by one the other way."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not apdu.p1 and len(apdu.data) == 245:
            return reply(SW.WRONG_LENGTH)
        return super()._compute_signature(ctx, apdu)


@fault("empty_signed")
class EmptySigned(JpkiApplet):
    """P1 00 signs empty data (00 01 FF..FF 00 and nothing after it)."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        fid = ctx.session.get("ef")
        if apdu.p1 or apdu.data or KEY_PIN.get(fid) not in self.verified(ctx):
            return super()._compute_signature(ctx, apdu)
        return reply(SW.OK, _raw_type1(load_key(self.data["keys"][f"{fid:04X}"]), b"", 253))


@fault("length_6a80")
class Length6A80(JpkiApplet):
    """Data too long for the padding is refused with 6A80 instead of 6700 or 6985."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._compute_signature(ctx, apdu)
        return reply(SW.WRONG_DATA) if r.sw == SW.WRONG_LENGTH and len(apdu.data) > 245 else r


class _SchemeFault(JpkiApplet):
    """Base of the faults of the P1 01-05 schemes: ``scheme_signature`` replaces what one scheme signs."""

    schemes: ClassVar[frozenset[int]] = frozenset()

    def scheme_signature(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        raise NotImplementedError

    def sign_scheme(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        if scheme in self.schemes:
            return self.scheme_signature(key, scheme, data)
        return super().sign_scheme(key, scheme, data)


@fault("scheme03_no_hash")
class Scheme03NoHash(_SchemeFault):
    """P1 03 signs the message as given, like P1 00, without hashing it."""

    schemes = frozenset({SignatureScheme.SHA256_DIGEST_INFO})

    def scheme_signature(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        return sign_data(key, data[:245])


@fault("scheme01_digest_info")
class Scheme01DigestInfo(_SchemeFault):
    """P1 01 wraps the hash in a DigestInfo (as P1 03 does) instead of signing the bare hash."""

    schemes = frozenset({SignatureScheme.SHA256_BARE})

    def scheme_signature(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        return sign_data(key, digest_info("sha256", message_hash(scheme, data)))


@fault("pss_as_pkcs1")
class PssAsPkcs1(_SchemeFault):
    """P1 04 and 05 sign with PKCS#1 v1.5 (over the DigestInfo) instead of RSASSA-PSS."""

    schemes = frozenset(PSS)

    def scheme_signature(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        return sign_data(key, digest_info("sha256", message_hash(scheme, data)))


def _pss(key: rsa.RSAPrivateKey, m_hash: bytes, mgf: hashes.HashAlgorithm, salt: bytes) -> bytes:
    """EMSA-PSS encoding (RFC 8017 §9.1.1) with a given salt, then RSA: to make faulty PSS signatures."""
    k = key.key_size // 8
    em_len = k  # emBits = 2047 for a 2048-bit modulus: emLen = 256, top bit cleared
    h = hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (em_len - len(salt) - 34) + b"\x01" + salt
    mask = b""
    counter = 0
    while len(mask) < len(db):
        digest = hashlib.new(mgf.name)
        digest.update(h + counter.to_bytes(4, "big"))
        mask += digest.digest()
        counter += 1
    masked = bytearray(a ^ b for a, b in zip(db, mask, strict=False))
    masked[0] &= 0x7F
    em = bytes(masked) + h + b"\xbc"
    nums = key.private_numbers()
    return pow(int.from_bytes(em, "big"), nums.d, nums.public_numbers.n).to_bytes(k, "big")


@fault("pss_fixed_salt")
class PssFixedSalt(_SchemeFault):
    """RSASSA-PSS with a fixed salt of 32 zero bytes: valid, but two signatures of one hash are equal."""

    schemes = frozenset(PSS)

    def scheme_signature(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        return _pss(key, message_hash(scheme, data), hashes.SHA256(), b"\x00" * 32)


@fault("pss_mgf1_sha1")
class PssMgf1Sha1(_SchemeFault):
    """RSASSA-PSS with MGF1 over SHA-1 instead of SHA-256."""

    schemes = frozenset(PSS)

    def scheme_signature(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA1()), salt_length=32)
        return key.sign(message_hash(scheme, data), pss, utils.Prehashed(hashes.SHA256()))


@fault("pss_salt_20")
class PssSalt20(_SchemeFault):
    """RSASSA-PSS with a 20-byte salt instead of the hash length."""

    schemes = frozenset(PSS)

    def scheme_signature(self, key: rsa.RSAPrivateKey, scheme: SignatureScheme, data: bytes) -> bytes:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20)
        return key.sign(message_hash(scheme, data), pss, utils.Prehashed(hashes.SHA256()))


@fault("prehashed_any_length")
class PrehashedAnyLength(JpkiApplet):
    """P1 02 and 04 take data of any length, padding or cutting it to 32 bytes."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 in PREHASHED and apdu.data and len(apdu.data) != 32:
            apdu = dataclasses.replace(apdu, data=apdu.data[:32].ljust(32, b"\x00"))
        return super()._compute_signature(ctx, apdu)


@fault("schemes_skip_pin")
class SchemesSkipPin(JpkiApplet):
    """P1 01 to 05 sign without checking the PIN (the check lives in the P1 00 path only)."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if 0x01 <= apdu.p1 <= 0x05:
            return _as_if_every_pin_verified(self, ctx, partial(super()._compute_signature, ctx, apdu))
        return super()._compute_signature(ctx, apdu)


@fault("p1_ignored")
class P1Ignored(JpkiApplet):
    """A P1 no source defines is taken as 00."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 > 0x05:
            apdu = dataclasses.replace(apdu, p1=0x00)
        return super()._compute_signature(ctx, apdu)


@fault("p1_masked")
class P1Masked(JpkiApplet):
    """P1 is decoded from its low nibble only: 10 and 80 sign as 00."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return super()._compute_signature(ctx, dataclasses.replace(apdu, p1=apdu.p1 & 0x0F))


@fault("p1_6a80")
class P16A80(JpkiApplet):
    """A P1 no source defines is refused with 6A80 instead of 6A86."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._compute_signature(ctx, apdu)
        return reply(SW.WRONG_DATA) if r.sw == SW.INCORRECT_P1P2 and apdu.p1 > 0x05 else r


@fault("p1_error_clears_state")
class P1ErrorClearsState(JpkiApplet):
    """A refused P1 clears the verified state (the error path resets the security status)."""

    def _compute_signature(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._compute_signature(ctx, apdu)
        if r.sw == SW.INCORRECT_P1P2:
            self.verified(ctx).clear()
        return r


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
    issuer: x509.Name | None = None,
    not_after: datetime.datetime | None = None,
    signer: rsa.RSAPrivateKey | None = None,
) -> bytes:
    """The persona certificate ``label`` rebuilt with a change: extensions ``drop``ped, ``mutate`` applied
    to the builder, another ``subject``, ``issuer``, end of validity or public ``key``; signed by the persona
    CA key of its purpose (a root with a new ``key`` signs itself), or by ``signer``, with ``algorithm``
    (default SHA-256)."""
    original = x509.load_der_x509_certificate(load_persona().certs[label])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or original.subject)
        .issuer_name(issuer or original.issuer)
        .public_key(key.public_key() if key else original.public_key())  # type: ignore[arg-type]
        .serial_number(original.serial_number)
        .not_valid_before(original.not_valid_before_utc)
        .not_valid_after(not_after or original.not_valid_after_utc)
    )
    for ext in original.extensions:
        if ext.oid not in drop:
            builder = builder.add_extension(ext.value, ext.critical)
    if mutate:
        builder = mutate(builder, original)
    if signer is None:
        signer = key if key and label.endswith("-ca") else ca_key(label.removesuffix("-ca"))
    return builder.sign(signer, algorithm or hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _certificate(fid: int, label: str, **change: Any) -> Callable[[type[JpkiApplet]], type[JpkiApplet]]:
    """EF ``fid`` holds the persona certificate ``label`` rebuilt with ``change`` (see :func:`rebuild`)."""

    def decorate(cls: type[JpkiApplet]) -> type[JpkiApplet]:
        def initial_data(self: JpkiApplet) -> dict[str, Any]:
            return _set_file(super(cls, self).initial_data(), fid, rebuild(label, **change))

        cls.initial_data = initial_data  # type: ignore[method-assign]
        return cls

    return decorate


def _san_changed(values: dict[str, bytes | None]) -> Mutation:
    """A mutation of the sign certificate's subjectAltName: otherName .N set to a UTF8String of the given
    value, or dropped for None."""

    def mutate(b: x509.CertificateBuilder, original: x509.Certificate) -> x509.CertificateBuilder:
        names = []
        for gn in original.extensions.get_extension_for_class(x509.SubjectAlternativeName).value:
            arc = gn.type_id.dotted_string.rsplit(".", 1)[-1] if isinstance(gn, x509.OtherName) else None
            if arc in values:
                value = values[arc]
                if value is None:
                    continue
                gn = x509.OtherName(gn.type_id, b"\x0c" + bytes((len(value),)) + value)
            names.append(gn)
        return b.add_extension(x509.SubjectAlternativeName(names), False)

    return mutate


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


@cache
def _weak_key(exponent: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=exponent, key_size=2048)


def _ca_subject(label: str) -> x509.Name:
    return x509.load_der_x509_certificate(load_persona().certs[label]).subject


@fault("root_sha384")
@_certificate(EF_AUTH_CA, "auth-ca", algorithm=hashes.SHA384())
class RootSha384(JpkiApplet):
    """The auth CA certificate is signed with sha384WithRSAEncryption, not the profile's SHA-256."""


@fault("root_no_ski")
@_certificate(EF_SIGN_CA, "sign-ca", drop=(ExtensionOID.SUBJECT_KEY_IDENTIFIER,))
class RootNoSki(JpkiApplet):
    """The sign CA certificate has no subjectKeyIdentifier."""


@fault("root_ou_swapped")
class RootOuSwapped(JpkiApplet):
    """The auth CA certificate carries the signature CA's subject (OU=JPKI for digital signature)."""

    def initial_data(self) -> dict[str, Any]:
        subject = _ca_subject("sign-ca")
        der = rebuild("auth-ca", subject=subject, issuer=subject)
        return _set_file(super().initial_data(), EF_AUTH_CA, der)


@fault("root_not_self_issued")
class RootNotSelfIssued(JpkiApplet):
    """The auth CA certificate names another issuer than itself (the sign CA) though it signs itself."""

    def initial_data(self) -> dict[str, Any]:
        der = rebuild("auth-ca", issuer=_ca_subject("sign-ca"))
        return _set_file(super().initial_data(), EF_AUTH_CA, der)


@fault("auth_cert_wrong_issuer_key")
class AuthCertWrongIssuerKey(JpkiApplet):
    """The auth certificate names the auth CA but is signed with the sign CA's key."""

    def initial_data(self) -> dict[str, Any]:
        der = rebuild("auth", signer=ca_key("sign"))
        return _set_file(super().initial_data(), EF_AUTH_CERT, der)


@fault("auth_cert_outlives_ca")
class AuthCertOutlivesCa(JpkiApplet):
    """The auth certificate is valid beyond the end of its CA certificate."""

    def initial_data(self) -> dict[str, Any]:
        ca = x509.load_der_x509_certificate(load_persona().certs["auth-ca"])
        der = rebuild("auth", not_after=ca.not_valid_after_utc + datetime.timedelta(days=1))
        return _set_file(super().initial_data(), EF_AUTH_CERT, der)


@fault("auth_cert_with_basic4")
class AuthCertWithBasic4(JpkiApplet):
    """The auth certificate carries the sign certificate's subjectAltName (the 基本4情報)."""

    def initial_data(self) -> dict[str, Any]:
        sign = x509.load_der_x509_certificate(load_persona().certs["sign"])
        san = sign.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        der = rebuild(
            "auth",
            lambda b, _: b.add_extension(san, False),
            drop=(ExtensionOID.SUBJECT_ALTERNATIVE_NAME,),
        )
        return _set_file(super().initial_data(), EF_AUTH_CERT, der)


@fault("auth_cert_exponent_3")
class AuthCertExponent3(JpkiApplet):
    """The auth key pair has the public exponent 3 (certificate and key EF both)."""

    def initial_data(self) -> dict[str, Any]:
        key = _weak_key(3)
        data = _set_file(super().initial_data(), EF_AUTH_CERT, rebuild("auth", key=key))
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")
        data["keys"][f"{EF_AUTH_KEY:04X}"] = pem
        return data


@fault("sign_ku_not_critical")
class SignKuNotCritical(JpkiApplet):
    """The sign certificate's keyUsage is not critical."""

    def initial_data(self) -> dict[str, Any]:
        def not_critical(b: x509.CertificateBuilder, original: x509.Certificate) -> x509.CertificateBuilder:
            return b.add_extension(original.extensions.get_extension_for_class(x509.KeyUsage).value, False)

        der = rebuild("sign", not_critical, drop=(ExtensionOID.KEY_USAGE,))
        return _set_file(super().initial_data(), EF_SIGN_CERT, der)


def _sign_san(values: dict[str, bytes | None]) -> Callable[[type[JpkiApplet]], type[JpkiApplet]]:
    def decorate(cls: type[JpkiApplet]) -> type[JpkiApplet]:
        def initial_data(self: JpkiApplet) -> dict[str, Any]:
            der = rebuild("sign", _san_changed(values), drop=(ExtensionOID.SUBJECT_ALTERNATIVE_NAME,))
            return _set_file(super(cls, self).initial_data(), EF_SIGN_CERT, der)

        cls.initial_data = initial_data  # type: ignore[method-assign]
        return cls

    return decorate


@fault("sign_san_sex_missing")
@_sign_san({"3": None})
class SignSanSexMissing(JpkiApplet):
    """The sign certificate's subjectAltName lacks the sex otherName (.3)."""


@fault("sign_san_sex_invalid")
@_sign_san({"3": b"4"})
class SignSanSexInvalid(JpkiApplet):
    """The sign certificate's sex otherName is 4, outside 1, 2 and 9."""


@fault("sign_san_dob_gregorian")
@_sign_san({"4": b"19800217"})
class SignSanDobGregorian(JpkiApplet):
    """The date of birth is YYYYMMDD, without the era digit (EYYYYMMDD)."""


@fault("sign_san_name_flags_short")
@_sign_san({"2": b"000"})
class SignSanNameFlagsShort(JpkiApplet):
    """The name substitute-character flags (.2) have fewer flags than the name (.1) has characters."""


@fault("change_accepts_del")
class ChangeAcceptsDel(JpkiApplet):
    """For the printable charset (20-7E), CHANGE REFERENCE DATA takes 20-7F: the control character DEL is
    stored as part of the new PIN (the range check is off by one)."""

    def _change(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        fid, record = _current_pin(self, ctx)
        data = apdu.data
        if (
            record is not None
            and fid in self.verified(ctx)
            and 0x7F in data
            and all(0x20 <= b <= 0x7F for b in data)
        ):
            record["value"] = data.decode("ascii")
            return reply()
        return super()._change(ctx, apdu)


# -- factories ----------------------------------------------------------------------------------------------


def faulty_type(name: str, base: type[Applet]) -> type[Applet]:
    """The applet class ``base`` (the personality's own JPKI applet class) with fault ``name`` in front of
    it, so that the faulty card differs from the reference in that one fault only."""
    type_name = f"{base.type_name}-faulty-{name}"
    return type(f"{FAULTS[name].__name__}_{base.__name__}", (FAULTS[name], base), {"type_name": type_name})


def _with_rules(params: dict[str, Any], rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Applet ``params`` with the PIN rule overrides ``rules`` (``auth_pin`` / ``sign_pin``) merged in."""
    return {**params, **{k: {**params.get(k, {}), **v} for k, v in rules.items()}}


def _factory(
    name: str, rules: dict[str, dict[str, Any]] | None = None
) -> Callable[[str | None, Path | None], Card]:
    def make(personality: str | None, state: Path | None) -> Card:
        base = get_personality(personality or "gp-se")
        types = dict(base.applet_types)
        applets = []
        for spec in base.applets:
            cls = base.applet_types[spec.type_name]
            if issubclass(cls, JpkiApplet):
                faulty = faulty_type(name, cls)
                types[faulty.type_name] = faulty
                params = _with_rules(spec.params, rules) if rules else spec.params
                spec = dataclasses.replace(spec, type_name=faulty.type_name, params=params)
            applets.append(spec)
        return Card(dataclasses.replace(base, applets=tuple(applets), applet_types=types), state)

    make.__doc__ = FAULTS[name].__doc__
    return make


globals().update({name: _factory(name) for name in FAULTS})

#: PIN rules under which a test could pass vacuously: one try (a wrong VERIFY blocks the PIN), and the
#: printable charset (no lowercase form breaks it). The catalogue entries of these variants claim the same
#: rules in the ICS (``ics`` of the fault), so the card and its profile agree but for the one fault.
ONE_TRY = {"auth_pin": {"tries": 1}, "sign_pin": {"tries": 1}}
PRINTABLE_SIGN = {"sign_pin": {"charset": "printable"}}
globals().update(
    {
        f"{name}_one_try": _factory(name, ONE_TRY)
        for name in ("no_decrement", "query_reports_maximum", "lowercase_ok")
    }
)


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


# -- faults of the card around the applet ---------------------------------------------------------------


def _jpki_applets(card: Card) -> list[JpkiApplet]:
    return [e.applet for e in card.registry.values() if isinstance(e.applet, JpkiApplet)]


class _PowerAware(Card):
    """A card that knows whether the power-up it is doing follows a power cycle (cold) or a warm reset."""

    def power_off(self) -> None:
        self._cold = True
        super().power_off()

    def power_on(self) -> bytes:
        cold, self._cold = getattr(self, "_cold", False), False
        self.on_power_up(cold)
        return super().power_on()

    def on_power_up(self, cold: bool) -> None:
        pass

    def restore_counters(self, blocked: bool) -> None:
        """Every PIN counter back at its maximum: those still usable, or (``blocked``) those at 0."""
        for applet in _jpki_applets(self):
            for fid, which in PIN_EFS.items():
                record = applet.data["pins"][f"{fid:04X}"]
                if (int(record["tries_left"]) == 0) == blocked:
                    record["tries_left"] = applet.rules(which)["tries"]


class CounterRestoredByPowerCycle(_PowerAware):
    """A wrong VERIFY's decrement is kept in RAM and written back only with a right VERIFY: a power cycle
    (a torn session) gives the tries back."""

    def on_power_up(self, cold: bool) -> None:
        if cold:
            self.restore_counters(blocked=False)


class CounterRestoredByReset(_PowerAware):
    """The retry counters are transient: a warm reset gives the tries back."""

    def on_power_up(self, cold: bool) -> None:
        if not cold:
            self.restore_counters(blocked=False)


class BlockClearedByPowerCycle(_PowerAware):
    """A blocked PIN is unblocked by a power cycle (the block flag is not in persistent memory)."""

    def on_power_up(self, cold: bool) -> None:
        if cold:
            self.restore_counters(blocked=True)


class ReselectKeepsState(Card):
    """A SELECT of the application already current on the channel answers 9000 and changes nothing, so the
    OpenSC logout (a re-SELECT) keeps the verified state."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        entry = self.registry.get(apdu.data)
        if entry is not None and entry is channel.selected:
            return reply()
        return super()._select_by_name(channel, apdu)


class SessionKeptPerApplication(Card):
    """Each application keeps its own session per channel: selecting another application and then the JPKI
    application again gives the JPKI application back the state it had (verified PINs included). Only the
    PIN EFs in ``KEPT`` are kept (None: the whole session)."""

    KEPT: ClassVar[frozenset[int] | None] = None

    def _make_selected(self, channel: Channel, entry: RegistryEntry) -> None:
        stash: dict[tuple[int, int], dict[str, Any]] = self.__dict__.setdefault("_stash", {})
        old = channel.selected
        if old is not None and old is not entry and isinstance(old.applet, JpkiApplet):
            stash[(channel.number, id(old))] = dict(
                channel.session, verified=set(channel.session.get("verified", ()))
            )
        super()._make_selected(channel, entry)
        kept = stash.pop((channel.number, id(entry)), None)
        if kept is not None and old is not entry:
            verified = kept.get("verified", set())
            channel.session["verified"] = verified if self.KEPT is None else verified & self.KEPT

    def _clear_transient(self) -> None:
        self.__dict__["_stash"] = {}
        super()._clear_transient()


class SignStateKeptPerApplication(SessionKeptPerApplication):
    """As SessionKeptPerApplication, for the sign password only: selecting another application clears the
    auth PIN's verified state but not the sign password's."""

    KEPT = frozenset({EF_SIGN_PIN})


class SelectOtherKeepsJpkiCurrent(Card):
    """SELECT of another application answers 9000 but leaves the JPKI application current on the channel."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        current = channel.selected
        entry = self.registry.get(apdu.data)
        if current is not None and isinstance(current.applet, JpkiApplet) and entry not in (None, current):
            return reply()
        return super()._select_by_name(channel, apdu)


class SelectClearsAllChannels(Card):
    """Any SELECT by DF name, on any channel, clears the JPKI verified state of every channel (one global
    security status reset by the OS's SELECT handler)."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        r = super()._select_by_name(channel, apdu)
        if r.ok:
            for other in self.channels.values():
                other.session.get("verified", set()).clear()
        return r


class ProprietaryClaChannelIgnored(Card):
    """A proprietary class (8x) is taken for the basic channel whatever its channel bits: 80 2A with CLA 81
    runs on channel 0."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) >= 4 and raw[0] & 0x80 and raw[0] != 0xFF and cla_channel(raw[0]) not in (None, 0):
            raw = bytes((raw[0] & 0xFC,)) + raw[1:]
        return super()._process(raw)


def _card_factory(cls: type[Card], change: Callable[[Personality], Personality] | None = None):  # type: ignore[no-untyped-def]
    def make(personality: str | None, state: Path | None) -> Card:
        base = get_personality(personality or "gp-se")
        return cls(change(base) if change else base, state)

    make.__doc__ = cls.__doc__
    return make


def _without_card_face(base: Personality) -> Personality:
    face = CARD_ONLY_APS["card-face AP"]
    return dataclasses.replace(base, applets=tuple(s for s in base.applets if s.aid != face))


def _with_card_aps(base: Personality) -> Personality:
    extra = tuple(AppletSpec(CardFaceApplet.type_name, aid) for aid in CARD_ONLY_APS.values())
    types = {**base.applet_types, CardFaceApplet.type_name: CardFaceApplet}
    return dataclasses.replace(base, applets=(*base.applets, *extra), applet_types=types)


class TextInputLocked(Card):
    """The text input support AP is installed but LOCKED, so SELECT of it answers 6A82."""

    def _install(self) -> None:
        super()._install()
        entry = self.registry.get(TEXT_INPUT_AID)
        if entry is not None:
            entry.life_cycle |= 0x80


counter_restored_by_power_cycle = _card_factory(CounterRestoredByPowerCycle)
counter_restored_by_reset = _card_factory(CounterRestoredByReset)
block_cleared_by_power_cycle = _card_factory(BlockClearedByPowerCycle)
reselect_keeps_state = _card_factory(ReselectKeepsState)
session_kept_per_application = _card_factory(SessionKeptPerApplication)
sign_state_kept_per_application = _card_factory(SignStateKeptPerApplication)
select_other_keeps_jpki_current = _card_factory(SelectOtherKeepsJpkiCurrent)
select_clears_all_channels = _card_factory(SelectClearsAllChannels)
proprietary_cla_channel_ignored = _card_factory(ProprietaryClaChannelIgnored)
text_input_locked = _card_factory(TextInputLocked)


def card_face_missing(personality: str | None, state: Path | None) -> Card:
    """The card lacks its card-face AP."""
    return Card(_without_card_face(get_personality(personality or "mynumber-card")), state)


def phone_has_card_aps(personality: str | None, state: Path | None) -> Card:
    """The phone token carries the card's card-face and text input APs, which the ICS says it has not."""
    return Card(_with_card_aps(get_personality(personality or "gp-se")), state)


change_accepts_del_printable = _factory("change_accepts_del", PRINTABLE_SIGN)
