"""Deliberately non-conforming UICCs of the SIM design, one fault each (tests/faults/sim.yaml): each is a
factory ``(personality, state) -> card`` for a profile's ``ixit.transport.factory``, built from the reference
UICC (jpkikit/reference/emulator/uicc.py and its applets) with one change."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.reference.emulator import uicc as uicc_runtime
from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.emulator.arf import Pkcs15Arf
from jpkikit.reference.emulator.gp.issuance import APSD_AID, ISD_KEYS
from jpkikit.reference.emulator.gp.security_domain import IssuerSecurityDomain, associated_security_domain
from jpkikit.reference.emulator.jpki_phone import KEY_BLOCKS
from jpkikit.reference.emulator.jpki_uicc import CONTACTLESS, JpkiUiccApplet
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Channel
from jpkikit.reference.emulator.uicc import UiccCard
from jpkikit.reference.emulator.uicc_fs import Ef, FileSystem
from jpkikit.vocab.etsi import uicc
from jpkikit.vocab.gp import arf
from jpkikit.vocab.gp.constants import INS_GET_STATUS, ISD_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.jpki.provisioning import (
    INS_PUT_KEY_PAIR,
    INS_SET_TEMP_PIN,
    MORE_BLOCKS,
    SLOT_SIGN,
    parse_key_package,
    unwrap_private_key,
)

Factory = Callable[[str | None, str | Path | None], Any]


def _card(personality: str | None, state: str | Path | None, cls: type[UiccCard] = UiccCard) -> UiccCard:
    return cls(get_personality(personality or "sim"), Path(state) if state else None)


def _swap(card: UiccCard, type_name: str, cls: type[Applet]) -> UiccCard:
    for entry in card.registry.values():
        if entry.applet.type_name == type_name:
            entry.applet.__class__ = cls
    return card


def _applet(card: UiccCard, type_name: str) -> Any:
    return next(e.applet for e in card.registry.values() if e.applet.type_name == type_name)


def _over_the_field(ctx: Context) -> bool:
    """The command came over the contactless interface (the UICC's test-bed state)."""
    return getattr(ctx.card, "interface", "") == CONTACTLESS


def _with_applet(cls: type[Applet], type_name: str = "jpki-uicc") -> Factory:
    def factory(personality: str | None, state: str | Path | None = None) -> UiccCard:
        return _swap(_card(personality, state), type_name, cls)

    return factory


def _with_card(cls: type[UiccCard]) -> Factory:
    def factory(personality: str | None, state: str | Path | None = None) -> UiccCard:
        return _card(personality, state, cls)

    return factory


# -- SIM-FS-01: the MF after the ATR ---------------------------------------------------------------------


class IsdImplicit(UiccCard):
    """The ISD is selected after the ATR (the GP-SE's default application), not the MF."""

    def _implicit_selection(self) -> Any:
        return self.registry.get(ISD_AID)


class MfLooksLikeAnEf(UiccCard):
    """The MF's FCP carries the descriptor of a transparent EF."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mf.root.fcp = lambda: uicc.build_fcp(uicc.transparent_descriptor(), uicc.FID_MF)  # type: ignore[method-assign]


class NoMfFromApplet(UiccCard):
    """SELECT 3F00 with an application selected goes to the application (which knows no MF)."""

    def _dispatch(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if channel.selected is not None:
            return channel.selected.applet.process(self._context(channel), apdu)
        return super()._dispatch(channel, apdu)


class MfTerminated(UiccCard):
    """The MF's FCP gives life cycle status 0C (terminated) instead of 05."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        good = self.mf.root.fcp
        self.mf.root.fcp = lambda: good().replace(b"\x8a\x01\x05", b"\x8a\x01\x0c")  # type: ignore[method-assign]


isd_implicit = _with_card(IsdImplicit)
mf_looks_like_an_ef = _with_card(MfLooksLikeAnEf)
no_mf_from_applet = _with_card(NoMfFromApplet)
mf_terminated = _with_card(MfTerminated)


# -- SIM-FS-02: EF ICCID ---------------------------------------------------------------------------------


def _patched_ef(fid: int, change: Callable[[Ef], None]) -> Factory:
    def factory(personality: str | None, state: str | Path | None = None) -> UiccCard:
        card = _card(personality, state)
        change(card.mf.root.children[fid])  # type: ignore[arg-type]
        return card

    return factory


def _unswapped(ef: Ef) -> None:
    digits = uicc.decode_iccid(ef.content)
    padded = digits + "F" * (20 - len(digits))
    ef.content = bytes.fromhex(padded)


def _bad_luhn(ef: Ef) -> None:
    digits = uicc.decode_iccid(ef.content)
    ef.content = uicc.encode_iccid(digits[:-1] + str((int(digits[-1]) + 1) % 10))


def _iccid_12(ef: Ef) -> None:
    ef.content = ef.content + b"\xff\xff"


iccid_unswapped = _patched_ef(uicc.FID_EF_ICCID, _unswapped)
iccid_bad_check_digit = _patched_ef(uicc.FID_EF_ICCID, _bad_luhn)
iccid_12_bytes = _patched_ef(uicc.FID_EF_ICCID, _iccid_12)


# -- SIM-FS-03: EF DIR -------------------------------------------------------------------------------------


def _drop_pkcs15(ef: Ef) -> None:
    assert ef.records is not None
    ef.records = [r for r in ef.records if arf.PKCS15_AID not in r] + [b"\xff" * len(ef.records[0])]


def _zero_padded(ef: Ef) -> None:
    assert ef.records is not None
    ef.records = [r.replace(b"\xff", b"\x00") if r[0] == 0x61 else r for r in ef.records]


dir_without_pkcs15 = _patched_ef(uicc.FID_EF_DIR, _drop_pkcs15)
dir_zero_padded = _patched_ef(uicc.FID_EF_DIR, _zero_padded)


class DirRecordWraps(FileSystem):
    def read_record(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        ef = self._current_ef(session)
        if ef is not None and ef.records and apdu.p1 > len(ef.records):
            return reply(SW.OK, ef.records[0])  # any record number past the end answers record 1
        return super().read_record(session, apdu)


def _fs(cls: type[FileSystem]) -> Factory:
    def factory(personality: str | None, state: str | Path | None = None) -> UiccCard:
        card = _card(personality, state)
        card.mf.__class__ = cls
        return card

    return factory


dir_record_wraps = _fs(DirRecordWraps)


# -- SIM-FS-04: the terminal writes nothing ------------------------------------------------------------------


class IccidWritable(FileSystem):
    def update(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        ef = self._current_ef(session)
        if ef is not None and ef.records is None:
            ef.content = apdu.data
            return reply()
        return super().update(session, apdu)


class DirWritable(FileSystem):
    def update(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        ef = self._current_ef(session)
        if ef is not None and ef.records is not None and 1 <= apdu.p1 <= len(ef.records):
            ef.records[apdu.p1 - 1] = apdu.data
            return reply()
        return super().update(session, apdu)


class UpdateWrongSw(FileSystem):
    def update(self, session: dict[str, Any], apdu: CommandApdu) -> ResponseApdu:
        return reply(SW.COMMAND_INCOMPATIBLE)  # 6981 instead of 6982


iccid_writable = _fs(IccidWritable)
dir_writable = _fs(DirWritable)
update_answers_6981 = _fs(UpdateWrongSw)


# -- SIM-CH-01: a new channel starts at the MF ------------------------------------------------------------


class ChannelGetsIsd(UiccCard):
    """A channel opened from the basic channel gets the ISD selected (the GP-SE's default application)."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        r = super()._manage_channel(channel, apdu)
        if r.ok and apdu.p1 == 0x00 and r.data:
            self._make_selected(self.channels[r.data[0]], self.registry[ISD_AID])
        return r


class ChannelInheritsApplet(UiccCard):
    """A channel opened from the basic channel gets the basic channel's application selected."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        r = super()._manage_channel(channel, apdu)
        if r.ok and apdu.p1 == 0x00 and r.data and channel.selected is not None:
            self._make_selected(self.channels[r.data[0]], channel.selected)
        return r


class OpenDeselectsBasic(UiccCard):
    """Opening a channel deselects the basic channel's application."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        r = super()._manage_channel(channel, apdu)
        if r.ok and apdu.p1 == 0x00:
            self._deselect(self.channels[0])
        return r


channel_gets_isd = _with_card(ChannelGetsIsd)
channel_inherits_applet = _with_card(ChannelInheritsApplet)
open_deselects_basic = _with_card(OpenDeselectsBasic)


# -- SIM-ARF-01..04, SIM-NFC-01: the access rule files ------------------------------------------------------


class ArfBasicOnly(Pkcs15Arf):
    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if ctx.channel:
            return reply(SW.FILE_NOT_FOUND)  # only on the basic channel
        return super().select(ctx, apdu)


class OdfPointsNowhere(Pkcs15Arf):
    def files(self) -> dict[int, bytes]:
        files = super().files()
        files[arf.EF_ODF] = arf.odf(arf.EF_DODF + 1)
        return files


class FcpWithoutSize(Pkcs15Arf):
    def tree(self) -> FileSystem:
        fs = super().tree()
        for node in fs.root.children.values():
            if isinstance(node, Ef):
                node.fcp = lambda node=node: uicc.build_fcp(uicc.transparent_descriptor(), node.fid)  # type: ignore[method-assign]
        return fs


class AdfFcpWithoutAid(Pkcs15Arf):
    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        super().select(ctx, apdu)
        return reply(SW.OK, uicc.build_fcp(uicc.df_descriptor(), 0x7F50))


class DodfWrongOid(Pkcs15Arf):
    def files(self) -> dict[int, bytes]:
        files = super().files()
        files[arf.EF_DODF] = files[arf.EF_DODF].replace(
            arf.encode_oid(arf.AC_OID), arf.encode_oid("1.2.840.114283.200.1.2")
        )
        return files


class AcmfShortTag(Pkcs15Arf):
    def files(self) -> dict[int, bytes]:
        files = super().files()
        acmf = files[arf.EF_ACMF]
        # 30 L 04 08 <tag> 30 ..: cut the refresh tag to 7 bytes
        body = bytes((0x04, 0x07)) + acmf[4:11] + acmf[12:]
        files[arf.EF_ACMF] = bytes((0x30, len(body))) + body
        return files


class AcmfToMissingAcrf(Pkcs15Arf):
    def files(self) -> dict[int, bytes]:
        files = super().files()
        files[arf.EF_ACMF] = arf.acmf(bytes.fromhex(self.data["refresh"]), 0x4399)
        return files


def _rules(change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Factory:
    def factory(personality: str | None, state: str | Path | None = None) -> UiccCard:
        card = _card(personality, state)
        applet = _applet(card, "pkcs15-arf")
        applet.data["rules"] = change([dict(r) for r in applet.data["rules"]])
        return card

    return factory


JPKI = JPKI_AID.hex().upper()


def _reader_always(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "apdu": "always"} if isinstance(r["apdu"], list) else r for r in rules]


def _drop_jpki_app(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rules if r["apdu"] != "always"]


def _allow_all(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [*rules, {"aid": "all", "hash": "", "apdu": "always", "nfc": False}]


def _nfc_for_all(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [*rules, {"aid": JPKI, "hash": "", "apdu": "always", "nfc": True}]


def _nfc_to_reader_app(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "nfc": True} if isinstance(r["apdu"], list) else r for r in rules]


def _nfc_undefined_for_filters(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "nfc": None} if isinstance(r["apdu"], list) else r for r in rules]


class ArfWritable(Pkcs15Arf):
    """UPDATE BINARY replaces the content of any ARF file (kept in the applet's data)."""

    def files(self) -> dict[int, bytes]:
        files = super().files()
        files.update({int(k, 16): bytes.fromhex(v) for k, v in self.data.get("written", {}).items()})
        return files

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not apdu.cla & 0x80 and apdu.ins == uicc.UiccIns.UPDATE_BINARY and self.writable(ctx):
            ef = ctx.session.get("fs.ef")
            if isinstance(ef, Ef):
                self.data.setdefault("written", {})[f"{ef.fid:04X}"] = apdu.data.hex()
                ctx.session.pop("arf.tree", None)
                return reply()
        return super().process(ctx, apdu)

    def writable(self, ctx: Context) -> bool:
        return True


class AccfWritable(ArfWritable):
    def writable(self, ctx: Context) -> bool:
        ef = ctx.session.get("fs.ef")
        return isinstance(ef, Ef) and ef.fid >= arf.EF_ACCF_FIRST


class ArfUpdateWrongSw(Pkcs15Arf):
    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not apdu.cla & 0x80 and apdu.ins == uicc.UiccIns.UPDATE_BINARY:
            return reply(SW.NO_CURRENT_EF)  # 6986 instead of 6982
        return super().process(ctx, apdu)


arf_basic_only = _with_applet(ArfBasicOnly, "pkcs15-arf")
odf_points_nowhere = _with_applet(OdfPointsNowhere, "pkcs15-arf")
fcp_without_size = _with_applet(FcpWithoutSize, "pkcs15-arf")
adf_fcp_without_aid = _with_applet(AdfFcpWithoutAid, "pkcs15-arf")
dodf_wrong_oid = _with_applet(DodfWrongOid, "pkcs15-arf")
acmf_short_tag = _with_applet(AcmfShortTag, "pkcs15-arf")
acmf_to_missing_acrf = _with_applet(AcmfToMissingAcrf, "pkcs15-arf")
arf_reader_app_always = _rules(_reader_always)
arf_without_jpki_app = _rules(_drop_jpki_app)
arf_allows_all = _rules(_allow_all)
arf_writable = _with_applet(ArfWritable, "pkcs15-arf")
accf_writable = _with_applet(AccfWritable, "pkcs15-arf")
arf_update_answers_6986 = _with_applet(ArfUpdateWrongSw, "pkcs15-arf")
nfc_for_all_apps = _rules(_nfc_for_all)
nfc_to_reader_app = _rules(_nfc_to_reader_app)
nfc_undefined_for_filters = _rules(_nfc_undefined_for_filters)


# -- SIM-SD-01/02: the SP security domain -------------------------------------------------------------------


def _sp_keys_are_isd_keys(personality: str | None, state: str | Path | None = None) -> UiccCard:
    card = _card(personality, state)
    sp = card.registry[APSD_AID].applet
    sp.data["keysets"]["30"].update(
        enc=ISD_KEYS[0x30].hex(), mac=ISD_KEYS[0x30].hex(), dek=ISD_KEYS[0x30].hex()
    )
    return card


def _applet_under_isd(personality: str | None, state: str | Path | None = None) -> UiccCard:
    card = _card(personality, state)
    isd = card.registry[ISD_AID].applet
    isd.data["apps"] = copy.deepcopy(isd.data["apps"])  # the personality's own entries stay as they are
    isd.data["apps"][JPKI]["sd"] = ISD_AID.hex().upper()
    return card


def _isd_holds_sp_keys(personality: str | None, state: str | Path | None = None) -> UiccCard:
    card = _card(personality, state)
    sp_keys = card.registry[APSD_AID].applet.data["keysets"]["30"]
    card.registry[ISD_AID].applet.data["keysets"]["30"].update(
        enc=sp_keys["enc"], mac=sp_keys["mac"], dek=sp_keys["dek"]
    )
    return card


class SeIdWithoutSession(JpkiUiccApplet):
    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla == 0x80 and apdu.ins == 0x10:
            return reply(SW.OK, self.se_id(ctx))  # GET SE ID answered in plain, to anyone
        return super().process(ctx, apdu)


def _sp_without_sd_privilege(personality: str | None, state: str | Path | None = None) -> UiccCard:
    card = _card(personality, state)
    isd = card.registry[ISD_AID].applet
    isd.data["apps"] = copy.deepcopy(isd.data["apps"])  # the personality's own entries stay as they are
    isd.data["apps"][APSD_AID.hex().upper()]["privileges"] = "000000"
    return card


class IsdHidesSp(IssuerSecurityDomain):
    """GET STATUS leaves the SP security domain out."""

    def dispatch(self, ctx: Context, sc: Any, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins != INS_GET_STATUS:
            return super().dispatch(ctx, sc, apdu)
        hidden = ctx.card.registry.pop(APSD_AID, None)
        try:
            return super().dispatch(ctx, sc, apdu)
        finally:
            if hidden is not None:
                ctx.card.registry[APSD_AID] = hidden


sp_keys_are_isd_keys = _sp_keys_are_isd_keys
applet_under_isd = _applet_under_isd
isd_holds_sp_keys = _isd_holds_sp_keys
se_id_without_session = _with_applet(SeIdWithoutSession)
sp_without_sd_privilege = _sp_without_sd_privilege
sp_hidden = _with_applet(IsdHidesSp, "gp-isd")


# -- SIM-KEY-01: the key pair delivered ---------------------------------------------------------------------


class LastBlockOnly(JpkiUiccApplet):
    def _put_key_pair(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 & 0x80:
            return reply()  # earlier blocks dropped
        return super()._put_key_pair(ctx, apdu)


class OldCertificateKept(JpkiUiccApplet):
    def _put_key_pair(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        files = dict(self.data["files"])
        r = super()._put_key_pair(ctx, apdu)
        if r.ok and not apdu.p1 & 0x80:
            self.data["files"] = files  # the old certificate and EF 0008 stay
        return r


class DeliveredKeyDropped(JpkiUiccApplet):
    def _put_key_pair(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        keys = dict(self.data["keys"])
        r = super()._put_key_pair(ctx, apdu)
        self.data["keys"] = keys  # answered, but the key is not kept
        return r


def _package_of(ctx: Context, apdu: CommandApdu) -> bytes | None:
    """The whole key package once its last block arrives (the blocks before it wait in the session)."""
    if apdu.p1 & MORE_BLOCKS:
        return None
    return ctx.session.get(KEY_BLOCKS, {}).get("data", b"") + apdu.data


class KeyForAnySe(JpkiUiccApplet):
    """The SE identification ID in the package is not compared with this SE's."""

    _claimed: bytes | None = None

    def _put_key_pair(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        whole = _package_of(ctx, apdu)
        try:
            self._claimed = parse_key_package(whole).se_id if whole else None
        except Exception:
            self._claimed = None
        try:
            return super()._put_key_pair(ctx, apdu)
        finally:
            self._claimed = None

    def se_id(self, ctx: Context) -> bytes:
        return self._claimed or super().se_id(ctx)


class _AcceptsWhatItRefused(JpkiUiccApplet):
    """A delivery the applet refused is installed anyway when ``fallback`` gets a key out of it."""

    _package_se_id: bytes = b""

    def _put_key_pair(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        whole = _package_of(ctx, apdu)
        r = super()._put_key_pair(ctx, apdu)
        slot = self._slot(apdu.p2)
        if r.sw != SW.WRONG_DATA or whole is None or slot is None:
            return r
        try:
            package = parse_key_package(whole)
            self._package_se_id = package.se_id
            key = self.fallback(ctx, package.wrapped_key)
        except Exception:
            return r
        if not isinstance(key, rsa.RSAPrivateKey):
            return r
        self.data["keys"][f"{slot.key:04X}"] = self.store_delivered_key(key)
        self._drop_certificate(slot)
        return reply()

    def fallback(self, ctx: Context, wrapped: bytes) -> Any:
        raise NotImplementedError


class PlaintextKeyAccepted(_AcceptsWhatItRefused):
    def fallback(self, ctx: Context, wrapped: bytes) -> Any:
        return serialization.load_der_private_key(wrapped, None)  # the key as it came, not unwrapped


class AnyKeySize(_AcceptsWhatItRefused):
    def fallback(self, ctx: Context, wrapped: bytes) -> Any:
        if self._package_se_id != self.se_id(ctx):
            return None  # only the size check is missing
        sd = associated_security_domain(ctx, self.aid)
        sc = sd.channel(ctx) if sd is not None else None
        keys = sd.static_keys(sc.kvn) if sd is not None and sc is not None and sc.kvn is not None else None
        if keys is None:
            return None
        key = serialization.load_der_private_key(unwrap_private_key(keys.dek, wrapped), None)
        return key  # any RSA key size


class KeyDeliveryParsedOutsideSession(JpkiUiccApplet):
    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla == 0x80 and apdu.ins == INS_PUT_KEY_PAIR and not cla_secure_messaging(apdu.cla):
            return reply(SW.WRONG_DATA)  # the package is parsed without any secure channel
        return super().process(ctx, apdu)


plaintext_key_accepted = _with_applet(PlaintextKeyAccepted)
any_key_size = _with_applet(AnyKeySize)
last_block_only = _with_applet(LastBlockOnly)
old_certificate_kept = _with_applet(OldCertificateKept)
delivered_key_dropped = _with_applet(DeliveredKeyDropped)
key_for_any_se = _with_applet(KeyForAnySe)
key_delivery_parsed_outside_session = _with_applet(KeyDeliveryParsedOutsideSession)


# -- SIM-CTR-01/02: counter issuance ------------------------------------------------------------------------


class NoSecureChannelOverTheField(JpkiUiccApplet):
    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _over_the_field(ctx) and apdu.cla & 0x80 and apdu.ins == 0x50:
            return reply(
                SW.CONDITIONS_NOT_SATISFIED
            )  # INITIALIZE UPDATE refused on the contactless interface
        return super().process(ctx, apdu)


class NoPinResetOverTheField(JpkiUiccApplet):
    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _over_the_field(ctx):
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)
        return super()._reset_retry_counter(ctx, apdu)


class BindNoopOverTheField(JpkiUiccApplet):
    def _bind_handset(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _over_the_field(ctx):
            return reply()  # answered, nothing bound
        return super()._bind_handset(ctx, apdu)


class NoTempPinOverTheField(JpkiUiccApplet):
    def _set_temp_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if _over_the_field(ctx):
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        return super()._set_temp_pin(ctx, apdu)


class TempPinInPlain(JpkiUiccApplet):
    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla == 0x80 and apdu.ins == INS_SET_TEMP_PIN:
            return self._set_temp_pin(ctx, apdu)  # accepted without the secure channel
        return super().process(ctx, apdu)


class ResetKeepsCounter(JpkiUiccApplet):
    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        found = self._pin_record(ctx, apdu)
        before = found[1]["tries_left"] if not isinstance(found, ResponseApdu) else None
        r = super()._reset_retry_counter(ctx, apdu)
        if r.ok and before is not None and not isinstance(found, ResponseApdu):
            found[1]["tries_left"] = before  # the new PIN is set, the counter is not reset
        return r


class TempPinReusable(JpkiUiccApplet):
    def _reset_retry_counter(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        found = self._pin_record(ctx, apdu)
        keep = dict(found[1]) if not isinstance(found, ResponseApdu) else None
        r = super()._reset_retry_counter(ctx, apdu)
        if r.ok and keep is not None and not isinstance(found, ResponseApdu):
            found[1].update(temp=keep.get("temp", ""), temp_tries=keep.get("temp_tries", 0))  # not used up
        return r


no_secure_channel_over_the_field = _with_applet(NoSecureChannelOverTheField)
no_pin_reset_over_the_field = _with_applet(NoPinResetOverTheField)
bind_noop_over_the_field = _with_applet(BindNoopOverTheField)
no_temp_pin_over_the_field = _with_applet(NoTempPinOverTheField)
temp_pin_in_plain = _with_applet(TempPinInPlain)
reset_keeps_counter = _with_applet(ResetKeepsCounter)
temp_pin_reusable = _with_applet(TempPinReusable)


# -- SIM-BIND-01, SIM-SWAP-01/02, SIM-OFF-01: the handset binding -------------------------------------------


class BindWithoutSession(JpkiUiccApplet):
    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla == 0x80 and apdu.ins == 0x30:
            return self._bind_handset(ctx, apdu)
        return super().process(ctx, apdu)


class BindUnknownHandset(JpkiUiccApplet):
    def _bind_handset(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        terminal = getattr(ctx.card, "session_terminal", None) or hashlib.sha256(b"").digest()
        self.data["binding"] = terminal.hex().upper()
        return reply()


class BindIgnored(JpkiUiccApplet):
    def _bind_handset(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if getattr(ctx.card, "session_terminal", None) is None:
            return super()._bind_handset(ctx, apdu)
        return reply()  # answered, nothing stored


class BasicChannelOnly(JpkiUiccApplet):
    def usable_here(self, ctx: Context) -> bool:
        return ctx.channel != 0 or super().usable_here(ctx)


class NoIdentityIsFine(JpkiUiccApplet):
    def usable_here(self, ctx: Context) -> bool:
        if getattr(ctx.card, "session_terminal", None) is None and getattr(ctx.card, "contact_powered", True):
            return True  # a terminal that says nothing is taken for the bound one
        return super().usable_here(ctx)


class NoProfileIsFine(JpkiUiccApplet):
    def usable_here(self, ctx: Context) -> bool:
        if getattr(ctx.card, "_profile", b"") is None and getattr(ctx.card, "contact_powered", True):
            return True  # no TERMINAL PROFILE: not a phone, so "not moved"
        return super().usable_here(ctx)


class ModelBinding(UiccCard):
    """The UICC identifies the handset by its TAC (the model: the first 8 digits of the IMEI)."""

    def _terminal_response(self, apdu: CommandApdu) -> ResponseApdu:
        r = super()._terminal_response(apdu)
        if self.session_terminal is not None:
            from jpkikit.vocab.etsi import cat

            imei = cat.imei_text(cat.parse_terminal_response(apdu.data).imei or b"")
            self.session_terminal = hashlib.sha256(imei[:8].encode()).digest()
        return r


class BindingNotPersistent(JpkiUiccApplet):
    def _bind_handset(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super()._bind_handset(ctx, apdu)
        if r.ok:
            ctx.card.__dict__.setdefault("_transient_binding", self.data["binding"])
            self.data["binding"] = None  # kept only until the next power cycle
        return r

    def usable_here(self, ctx: Context) -> bool:
        binding = ctx.card.__dict__.get("_transient_binding")
        if binding is None:
            return True
        self.data["binding"] = binding
        try:
            return super().usable_here(ctx)
        finally:
            self.data["binding"] = None


class TransientBindingCard(UiccCard):
    def _clear_transient(self) -> None:
        if self.interface == uicc_runtime.CONTACT:
            self.__dict__.pop("_transient_binding", None)
        super()._clear_transient()


def _binding_not_persistent(personality: str | None, state: str | Path | None = None) -> UiccCard:
    return _swap(_card(personality, state, TransientBindingCard), "jpki-uicc", BindingNotPersistent)


class ContactlessSkipsBinding(JpkiUiccApplet):
    def usable_here(self, ctx: Context) -> bool:
        return _over_the_field(ctx) or super().usable_here(ctx)


class ContactlessAlwaysRefused(JpkiUiccApplet):
    def usable_here(self, ctx: Context) -> bool:
        if _over_the_field(ctx) and self.data.get("binding"):
            return False  # the reader path never works once bound
        return super().usable_here(ctx)


class ContactlessRefusesWith6A82(JpkiUiccApplet):
    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        r = super().select(ctx, apdu)
        if _over_the_field(ctx) and r.sw == SW.CONDITIONS_NOT_SATISFIED:
            return reply(SW.FILE_NOT_FOUND)
        return r


class PoweredOffAllowed(JpkiUiccApplet):
    def usable_here(self, ctx: Context) -> bool:
        if _over_the_field(ctx) and not getattr(ctx.card, "contact_powered", True):
            return True
        return super().usable_here(ctx)


class PhoneOffUnnoticed(UiccCard):
    """The UICC does not notice the phone is off: it keeps the contact interface and its handset."""

    def _process(self, raw: bytes) -> ResponseApdu:
        from jpkikit.vocab import testbed

        command = testbed.parse(raw) if self.testbed else None
        if command is not None and command[0] == testbed.PHONE_OFF:
            return reply()
        return super()._process(raw)


class StuckAfterPowerOff(JpkiUiccApplet):
    def usable_here(self, ctx: Context) -> bool:
        if _over_the_field(ctx) and not getattr(ctx.card, "contact_powered", True):
            self.data["seen_off"] = True
        if self.data.get("seen_off") and _over_the_field(ctx):
            return False
        return super().usable_here(ctx)


bind_without_session = _with_applet(BindWithoutSession)
bind_unknown_handset = _with_applet(BindUnknownHandset)
bind_ignored = _with_applet(BindIgnored)
basic_channel_only = _with_applet(BasicChannelOnly)
no_identity_is_fine = _with_applet(NoIdentityIsFine)
no_profile_is_fine = _with_applet(NoProfileIsFine)
model_binding = _with_card(ModelBinding)
binding_not_persistent = _binding_not_persistent
contactless_skips_binding = _with_applet(ContactlessSkipsBinding)
contactless_always_refused = _with_applet(ContactlessAlwaysRefused)
contactless_refuses_with_6a82 = _with_applet(ContactlessRefusesWith6A82)
powered_off_allowed = _with_applet(PoweredOffAllowed)
phone_off_unnoticed = _with_card(PhoneOffUnnoticed)
stuck_after_power_off = _with_applet(StuckAfterPowerOff)


# -- SIM-LOCK-01/02: the remote lock ------------------------------------------------------------------------


class LockIgnoredOnTheField(UiccCard):
    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if self.interface == uicc_runtime.CONTACTLESS and self.life_cycle == 0x7F:
            self.life_cycle = 0x0F
            try:
                return super()._select_by_name(channel, apdu)
            finally:
                self.life_cycle = 0x7F
        return super()._select_by_name(channel, apdu)


class LockOnBasicOnly(UiccCard):
    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if channel.number and self.life_cycle == 0x7F:
            self.life_cycle = 0x0F
            try:
                return super()._select_by_name(channel, apdu)
            finally:
                self.life_cycle = 0x7F
        return super()._select_by_name(channel, apdu)


class LockLostAtPowerUp(UiccCard):
    def power_on(self) -> bytes:
        if self.life_cycle == 0x7F:
            self.life_cycle = 0x0F
        return super().power_on()


class ReleaseResetsPins(UiccCard):
    def _dispatch(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        locked = self.life_cycle == 0x7F
        r = super()._dispatch(channel, apdu)
        if locked and self.life_cycle == 0x0F:
            jpki = self.registry[JPKI_AID].applet
            for record in jpki.data["pins"].values():
                record["tries_left"] = 3 if len(str(record["value"])) == 4 else 5
        return r


class ReleaseWithoutSession(UiccCard):
    def _dispatch(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if (
            apdu.cla == 0x80
            and apdu.ins == 0xF0
            and apdu.p1 == 0x80
            and apdu.p2 == 0x0F
            and self.life_cycle == 0x7F
        ):
            self.life_cycle = 0x0F  # anyone may release the lock
            return reply()
        return super()._dispatch(channel, apdu)


class ReleaseDoesNotRelease(UiccCard):
    def _dispatch(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        locked = self.life_cycle == 0x7F
        r = super()._dispatch(channel, apdu)
        if locked and self.life_cycle == 0x0F:
            self.life_cycle = 0x7F  # answered 9000, still locked
        return r


lock_ignored_on_the_field = _with_card(LockIgnoredOnTheField)
lock_on_basic_only = _with_card(LockOnBasicOnly)
lock_lost_at_power_up = _with_card(LockLostAtPowerUp)
release_resets_pins = _with_card(ReleaseResetsPins)
release_without_session = _with_card(ReleaseWithoutSession)
release_does_not_release = _with_card(ReleaseDoesNotRelease)


# -- SIM-AUTH-01: authentication only ------------------------------------------------------------------------


class SignCertificateLeft(JpkiUiccApplet):
    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        from jpkikit.reference.persona import load_persona

        data["files"]["0001"] = load_persona().certs["sign"].hex()
        return data


class StatusShowsSign(JpkiUiccApplet):
    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        data["files"]["0008"] = "8F8F00"
        return data


class SignSlotAccepted(JpkiUiccApplet):
    def _slot(self, p2: int) -> Any:
        from jpkikit.reference.emulator.jpki_phone import SLOTS

        return SLOTS.get(p2) if p2 == SLOT_SIGN else super()._slot(p2)

    def _set_temp_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p2 == SLOT_SIGN:
            return reply()
        return super()._set_temp_pin(ctx, apdu)


def _fresh_applet(cls: type[JpkiUiccApplet]) -> Factory:
    """The applet class swapped before the initial data is made (faults in the installed content)."""

    def factory(personality: str | None, state: str | Path | None = None) -> UiccCard:
        card = _card(personality, state)
        for entry in card.registry.values():
            if entry.applet.type_name == "jpki-uicc":
                entry.applet = cls(entry.applet.aid, None, **entry.applet.params)
        return card

    return factory


sign_certificate_left = _fresh_applet(SignCertificateLeft)
status_shows_sign = _fresh_applet(StatusShowsSign)
sign_slot_accepted = _with_applet(SignSlotAccepted)
