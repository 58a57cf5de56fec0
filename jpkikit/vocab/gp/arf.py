"""The PKCS#15 Access Rule Files of GlobalPlatform Secure Element Access Control (SEAC v1.1, the ARF
alternative to the ARA-M for a UICC; docs/spec/globalplatform.md#secure-element-access-control): AIDs, file
identifiers, the access-control OID and the DER layout of EF ODF, EF DODF, EF ACMF, EF ACRF and EF ACCF, as a
UICC stores them and AOSP's ArfController reads them (security/arf/PKCS15/*.java).

- EF ODF (5031): ``A7 { 30 { 04 <path of EF DODF> } }`` (a DODF entry; other PKCS#15 entries may precede).
- EF DODF: an oidDO ``A1 { 30 {common object attributes} 30 {common data object attributes}
  A1 { 30 { 06 <1.2.840.114283.200.1.1> 30 { 04 <path of EF ACMF> } } } }``.
- EF ACMF: ``30 { 04 <8-byte refresh tag> 30 { 04 <path of EF ACRF> } }``.
- EF ACRF: one ``30 { target 30 { 04 <path of an EF ACCF> } }`` per SE application, the target being
  ``A0 { 04 <AID> }``, ``81 00`` (the default application) or ``82 00`` (every application).
- EF ACCF: one ``30 { [04 <certificate hash>] [A0 { access rules }] }`` per condition; no hash means every
  app; an access rule is ``A0 { 80 01 <00 never | 01 always> }`` or ``A0 { A1 { 04 <8-byte filter> ... } }``
  (APDU), or ``A1 { 80 01 <00 | 01> }`` (NFC). A condition without access rules allows APDUs; an ACCF with
  no condition at all means never.

:func:`files_for` turns rules in the kit's form (jpkikit.vocab.gp.seac.Rule) into these files. What the ARF
cannot say: a rule without APDU access rule (``apdu: null``) is written without one, which the ARF reads as
allowed; PKG-REF-DO and PERM-AR-DO have no ARF form and are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.tlv import Tlv

#: The PKCS#15 application (ISO/IEC 7816-15) and the GPAC ARF application; AOSP tries them in this order and
#: then EF DIR (3F00 2F00) on the default application.
PKCS15_AID = bytes.fromhex("A000000063504B43532D3135")
GPAC_ARF_AID = bytes.fromhex("A000000018475041432D3135")
EF_DIR_PATH = bytes.fromhex("3F002F00")
EF_ODF = 0x5031
#: The access-control OID of SEAC (GlobalPlatform 1.2.840.114283.200.1.1).
AC_OID = "1.2.840.114283.200.1.1"

# The files this module lays out (file identifiers below the PKCS#15 application).
EF_DODF, EF_ACMF, EF_ACRF, EF_ACCF_FIRST = 0x5207, 0x4300, 0x4310, 0x4311

T_SEQUENCE, T_OCTETS, T_OID = 0x30, 0x04, 0x06
T_DODF, T_OID_DO, T_TYPE_ATTRIBUTES = 0xA7, 0xA1, 0xA1
T_TARGET_AID, T_TARGET_DEFAULT, T_TARGET_ALL = 0xA0, 0x81, 0x82
T_ACCESS_RULES, T_APDU_RULE, T_NFC_RULE = 0xA0, 0xA0, 0xA1
T_PERMISSION, T_FILTERS = 0x80, 0xA1
REFRESH_TAG_LENGTH = 8


def encode_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray((40 * parts[0] + parts[1],))
    for value in parts[2:]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        body += bytes(reversed(chunk))
    return Tlv(T_OID, bytes(body)).encode()


def path(fid: int | bytes) -> bytes:
    """A PKCS#15 Path: ``30 { 04 <file identifier(s)> }``."""
    value = fid.to_bytes(2, "big") if isinstance(fid, int) else bytes(fid)
    return Tlv(T_SEQUENCE, Tlv(T_OCTETS, value).encode()).encode()


def odf(dodf: int = EF_DODF) -> bytes:
    return Tlv(T_DODF, path(dodf)).encode()


def dodf(acmf: int = EF_ACMF) -> bytes:
    common = Tlv(T_SEQUENCE, Tlv(0x0C, b"GP SEAC").encode()).encode()  # label (UTF8String)
    common_data = Tlv(T_SEQUENCE, b"").encode()
    oid_do = Tlv(T_SEQUENCE, encode_oid(AC_OID) + path(acmf)).encode()
    return Tlv(T_OID_DO, common + common_data + Tlv(T_TYPE_ATTRIBUTES, oid_do).encode()).encode()


def acmf(refresh_tag: bytes, acrf: int = EF_ACRF) -> bytes:
    if len(refresh_tag) != REFRESH_TAG_LENGTH:
        raise ValueError("the ACMF refresh tag is 8 bytes")
    return Tlv(T_SEQUENCE, Tlv(T_OCTETS, refresh_tag).encode() + path(acrf)).encode()


def _target(aid: seac.AidRef) -> bytes:
    if aid == "all":
        return Tlv(T_TARGET_ALL, b"").encode()
    if aid == "default":
        return Tlv(T_TARGET_DEFAULT, b"").encode()
    return Tlv(T_TARGET_AID, Tlv(T_OCTETS, bytes(aid)).encode()).encode()


def acrf(entries: Sequence[tuple[seac.AidRef, int]]) -> bytes:
    """EF ACRF from (target, file identifier of its EF ACCF) pairs."""
    return b"".join(Tlv(T_SEQUENCE, _target(aid) + path(fid)).encode() for aid, fid in entries)


def condition(rule: seac.Rule) -> bytes:
    """One Condition of an EF ACCF for ``rule`` (its hash and access rules; the AID is the ACRF's)."""
    parts = Tlv(T_OCTETS, rule.ref.hash).encode() if rule.ref.hash else b""
    rules = b""
    apdu = rule.ar.apdu
    if apdu == "always" or apdu == "never":
        rules += Tlv(
            T_APDU_RULE, Tlv(T_PERMISSION, b"\x01" if apdu == "always" else b"\x00").encode()
        ).encode()
    elif apdu is not None:
        filters = b"".join(Tlv(T_OCTETS, f.header + f.mask).encode() for f in apdu)
        rules += Tlv(T_APDU_RULE, Tlv(T_FILTERS, filters).encode()).encode()
    if rule.ar.nfc is not None:
        rules += Tlv(T_NFC_RULE, Tlv(T_PERMISSION, b"\x01" if rule.ar.nfc else b"\x00").encode()).encode()
    if rules:
        parts += Tlv(T_ACCESS_RULES, rules).encode()
    return Tlv(T_SEQUENCE, parts).encode()


def files_for(rules: Sequence[seac.Rule], refresh_tag: bytes) -> dict[int, bytes]:
    """The PKCS#15 files (file identifier -> content) holding ``rules``: ODF, DODF, ACMF, ACRF and one ACCF
    per SE application target, in the order the targets first appear."""
    targets: list[seac.AidRef] = []
    for rule in rules:
        if rule.ref.aid not in targets:
            targets.append(rule.ref.aid)
    files = {EF_ODF: odf(), EF_DODF: dodf(), EF_ACMF: acmf(refresh_tag)}
    entries = []
    for index, target in enumerate(targets):
        fid = EF_ACCF_FIRST + index
        entries.append((target, fid))
        files[fid] = b"".join(condition(r) for r in rules if r.ref.aid == target)
    files[EF_ACRF] = acrf(entries)
    return files
