"""GlobalPlatform Secure Element Access Control data objects (SEAC;
docs/spec/globalplatform.md#access-rule-data-objects): access rules as typed values, their BER-TLV encoding,
and a JSON form for profiles and vectors.

Both sides use this module: the emulator's ARA-M stores and returns rules, the handset's ACE parses them.
Decoding is strict and raises only :class:`SeacError` (a :class:`TlvError`), whose message names the DO.

JSON form of one rule: ``{"aid": "<hex>" | "all" | "default", "hash": "<hex>" | "" (all apps),
"apdu": "always" | "never" | ["<header hex>/<mask hex>", ...] | null, "nfc": true | false | null}``;
optional ``"pkg"`` (Android PKG-REF-DO) and ``"perm"`` (PERM-AR-DO, hex).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from jpkikit.errors import TlvDecodeError, TlvError
from jpkikit.vocab.iso7816.tlv import Tlv, decode

# Tags (SEAC; docs/spec/globalplatform.md#access-rule-data-objects)
T_ALL = 0xFF40  # Response-ALL-REF-AR-DO
T_SPECIFIC = 0xFF50  # Response-AR-DO
T_REFRESH = 0xDF20  # Response-Refresh-Tag-DO
T_CONFIG = 0xDF21  # Response-ARAM-Config-DO
T_REF_AR = 0xE2
T_REF = 0xE1
T_AID = 0x4F
T_IMPLICIT = 0xC0
T_HASH = 0xC1
T_PKG = 0xCA
T_AR = 0xE3
T_APDU_AR = 0xD0
T_NFC_AR = 0xD1
T_PERM_AR = 0xDB
T_DEVICE_CONFIG = 0xE4
T_ARAM_CONFIG = 0xE5
T_VERSION = 0xE6
# STORE DATA command DOs (SEAC v1.1 Table 5-1; docs/spec/globalplatform.md#store-data-to-the-ara-m)
T_CMD_STORE = 0xF0
T_CMD_DELETE = 0xF1
T_CMD_REFRESH = 0xF2

ARAM_AID = bytes.fromhex("A00000015141434C00")  # SEAC; docs/spec/globalplatform.md
HASH_LENGTHS = (0, 20, 32)  # all apps, SHA-1, SHA-256 (SHA-256: the later SEAC revision and Android)

AidRef = bytes | Literal["all", "default"]
ApduRule = Literal["always", "never"] | tuple["ApduFilter", ...] | None


class SeacError(TlvDecodeError):
    """Malformed access-control data (a DO missing, of the wrong length, or not allowed where found)."""


@dataclass(frozen=True)
class ApduFilter:
    """One APDU filter of an APDU-AR-DO: a command matches when (CLA INS P1 P2 AND mask) == header (AOSP
    CommandApdu.compareHeaders)."""

    header: bytes
    mask: bytes

    def __post_init__(self) -> None:
        if len(self.header) != 4 or len(self.mask) != 4:
            raise SeacError("an APDU filter is a 4-byte header and a 4-byte mask")

    def matches(self, command_header: bytes) -> bool:
        return all((c & m) == h for c, m, h in zip(command_header[:4], self.mask, self.header, strict=True))

    def text(self) -> str:
        return f"{self.header.hex().upper()}/{self.mask.hex().upper()}"


@dataclass(frozen=True)
class RefDo:
    """Which SE application (a 5-16 byte AID, all, or the default one) and which device app (hash)."""

    aid: AidRef
    hash: bytes = b""
    pkg: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.aid, bytes) and not 5 <= len(self.aid) <= 16:
            raise SeacError(f"AID-REF-DO must be 5-16 bytes (or 4F 00 for all), got {len(self.aid)}")
        if len(self.hash) not in HASH_LENGTHS:
            raise SeacError(f"DeviceAppID-REF-DO must be 0, 20 or 32 bytes, got {len(self.hash)}")

    def encode(self) -> bytes:
        if self.aid == "all":
            aid = Tlv(T_AID, b"")
        elif self.aid == "default":
            aid = Tlv(T_IMPLICIT, b"")
        else:
            aid = Tlv(T_AID, bytes(self.aid))
        parts = [aid, Tlv(T_HASH, self.hash)]
        if self.pkg is not None:
            parts.append(Tlv(T_PKG, self.pkg.encode("ascii")))
        return Tlv.build(T_REF, parts).encode()


@dataclass(frozen=True)
class ArDo:
    apdu: ApduRule = None
    nfc: bool | None = None
    perm: bytes | None = None

    def encode(self) -> bytes:
        parts: list[Tlv] = []
        if self.apdu == "always" or self.apdu == "never":
            parts.append(Tlv(T_APDU_AR, b"\x01" if self.apdu == "always" else b"\x00"))
        elif self.apdu is not None:
            parts.append(Tlv(T_APDU_AR, b"".join(f.header + f.mask for f in self.apdu)))
        if self.nfc is not None:
            parts.append(Tlv(T_NFC_AR, b"\x01" if self.nfc else b"\x00"))
        if self.perm is not None:
            parts.append(Tlv(T_PERM_AR, self.perm))
        return Tlv.build(T_AR, parts).encode()


@dataclass(frozen=True)
class Rule:
    ref: RefDo
    ar: ArDo

    def encode(self) -> bytes:
        """REF-AR-DO: E2 { E1 ... E3 ... } (access rule data objects)."""
        return Tlv(T_REF_AR, self.ref.encode() + self.ar.encode()).encode()


# -- decoding ---------------------------------------------------------------------------------------------


def decode_tlvs(data: bytes, where: str) -> list[Tlv]:
    try:
        return decode(data)
    except TlvError as exc:
        raise SeacError(f"{where}: {exc}") from None


def decode_ref(value: bytes) -> RefDo:
    aid: AidRef | None = None
    hash_: bytes | None = None
    pkg: str | None = None
    for tlv in decode_tlvs(value, "REF-DO (E1)"):
        if tlv.tag in (T_AID, T_IMPLICIT) and aid is None:
            if tlv.tag == T_IMPLICIT:
                if tlv.value:
                    raise SeacError("AID-REF-DO C0 must be empty")
                aid = "default"
            else:
                aid = "all" if not tlv.value else tlv.value
        elif tlv.tag == T_HASH and hash_ is None:
            hash_ = tlv.value
        elif tlv.tag == T_PKG and pkg is None:
            if not 0 < len(tlv.value) <= 128 or not tlv.value.isascii():
                raise SeacError("PKG-REF-DO must be 1-128 ASCII bytes")
            pkg = tlv.value.decode("ascii")
        else:
            raise SeacError(f"REF-DO (E1) holds an unexpected or repeated DO {tlv.tag:X}")
    if aid is None:
        raise SeacError("REF-DO (E1) without AID-REF-DO (4F or C0)")
    if hash_ is None:
        raise SeacError("REF-DO (E1) without DeviceAppID-REF-DO (C1)")
    if pkg is not None and not hash_:
        raise SeacError("PKG-REF-DO is only valid with a non-empty DeviceAppID-REF-DO")
    return RefDo(aid, hash_, pkg)


def decode_ar(value: bytes) -> ArDo:
    apdu: ApduRule = None
    nfc: bool | None = None
    perm: bytes | None = None
    seen: set[int] = set()
    for tlv in decode_tlvs(value, "AR-DO (E3)"):
        if tlv.tag in seen:
            raise SeacError(f"AR-DO (E3) repeats DO {tlv.tag:X}")
        seen.add(tlv.tag)
        if tlv.tag == T_APDU_AR:
            if len(tlv.value) == 1 and tlv.value[0] in (0, 1):
                apdu = "always" if tlv.value[0] else "never"
            elif tlv.value and len(tlv.value) % 8 == 0:
                v = tlv.value
                apdu = tuple(ApduFilter(v[i : i + 4], v[i + 4 : i + 8]) for i in range(0, len(v), 8))
            else:
                raise SeacError(f"APDU-AR-DO (D0) must be 00, 01 or n x 8 bytes, got {len(tlv.value)} bytes")
        elif tlv.tag == T_NFC_AR:
            if tlv.value not in (b"\x00", b"\x01"):
                raise SeacError("NFC-AR-DO (D1) must be 00 or 01")
            nfc = tlv.value == b"\x01"
        elif tlv.tag == T_PERM_AR:
            if len(tlv.value) != 8:
                raise SeacError("PERM-AR-DO (DB) must be 8 bytes")
            perm = tlv.value
        else:
            raise SeacError(f"AR-DO (E3) holds an unknown DO {tlv.tag:X}")
    if apdu is None and nfc is None and perm is None:
        raise SeacError("AR-DO (E3) is empty")
    return ArDo(apdu, nfc, perm)


def decode_rule(tlv: Tlv) -> Rule:
    if tlv.tag != T_REF_AR:
        raise SeacError(f"expected REF-AR-DO (E2), got {tlv.tag:X}")
    inner = decode_tlvs(tlv.value, "REF-AR-DO (E2)")
    if [t.tag for t in inner] != [T_REF, T_AR]:
        raise SeacError("REF-AR-DO (E2) must hold exactly E1 then E3")
    return Rule(decode_ref(inner[0].value), decode_ar(inner[1].value))


def decode_rules(value: bytes) -> list[Rule]:
    """The value of FF40 (concatenated REF-AR-DOs) as rules; empty value = no rules (ARA-M commands)."""
    return [decode_rule(t) for t in decode_tlvs(value, "Response-ALL-REF-AR-DO (FF40)")]


def encode_all(rules: list[Rule]) -> bytes:
    return Tlv(T_ALL, b"".join(r.encode() for r in rules)).encode()


# -- JSON form (profiles, vectors) ----------------------------------------------------------------------


def _hex(value: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(str(value).replace(" ", ""))
    except ValueError:
        raise SeacError(f"{what} must be hex, got {value!r}") from None


def rule_from_json(doc: dict[str, Any]) -> Rule:
    if not isinstance(doc, dict):
        raise SeacError(f"a rule must be a mapping, got {type(doc).__name__}")
    extra = set(doc) - {"aid", "hash", "pkg", "apdu", "nfc", "perm"}
    if extra:
        raise SeacError(f"unknown rule field(s): {', '.join(sorted(extra))}")
    raw_aid = doc.get("aid", "all")
    aid: AidRef = raw_aid if raw_aid in ("all", "default") else _hex(raw_aid, "aid")
    apdu_doc = doc.get("apdu")
    apdu: ApduRule
    if apdu_doc is None or apdu_doc in ("always", "never"):
        apdu = apdu_doc
    elif isinstance(apdu_doc, list):
        filters = []
        for item in apdu_doc:
            header, sep, mask = str(item).partition("/")
            if not sep:
                raise SeacError(f"APDU filter must be 'header/mask' in hex, got {item!r}")
            filters.append(ApduFilter(_hex(header, "filter header"), _hex(mask, "filter mask")))
        apdu = tuple(filters)
    else:
        raise SeacError(f"apdu must be always, never, a filter list or null, got {apdu_doc!r}")
    nfc = doc.get("nfc")
    if nfc is not None and not isinstance(nfc, bool):
        raise SeacError(f"nfc must be true, false or null, got {nfc!r}")
    perm = _hex(doc["perm"], "perm") if doc.get("perm") is not None else None
    return Rule(RefDo(aid, _hex(doc.get("hash", ""), "hash"), doc.get("pkg")), ArDo(apdu, nfc, perm))


def rule_to_json(rule: Rule) -> dict[str, Any]:
    aid = rule.ref.aid if isinstance(rule.ref.aid, str) else rule.ref.aid.hex().upper()
    apdu: Any = rule.ar.apdu
    if isinstance(apdu, tuple):
        apdu = [f.text() for f in apdu]
    out: dict[str, Any] = {"aid": aid, "hash": rule.ref.hash.hex().upper(), "apdu": apdu, "nfc": rule.ar.nfc}
    if rule.ref.pkg is not None:
        out["pkg"] = rule.ref.pkg
    if rule.ar.perm is not None:
        out["perm"] = rule.ar.perm.hex().upper()
    return out
