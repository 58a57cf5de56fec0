"""The oracle's reader of the PKCS#15 access rule files (GP SEAC, the ARF;
docs/spec/uicc.md#the-access-rule-files):
from EF ODF through EF DODF and EF ACMF to EF ACRF and the EF ACCFs, into the kit's rule form
(jpkikit.vocab.gp.seac.Rule), the way AOSP's ArfController reads them. Written apart from the builder in
jpkikit.vocab.gp.arf, so that a layout mistake there is not mirrored here; every structural problem is an
:class:`ArfError` (a malformed answer of the implementation, verdict fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jpkikit.errors import MalformedAnswer, TlvError
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.etsi import uicc
from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.arf import AC_OID, EF_ODF, PKCS15_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode


class ArfError(MalformedAnswer):
    """An access rule file that does not have the structure SEAC's ARF gives it."""


def decode_oid(value: bytes) -> str:
    if not value:
        raise ArfError("empty OBJECT IDENTIFIER")
    parts = [value[0] // 40, value[0] % 40] if value[0] < 80 else [2, value[0] - 80]
    current = 0
    for b in value[1:]:
        current = (current << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(current)
            current = 0
    return ".".join(map(str, parts))


def _tlvs(data: bytes, what: str) -> list[Tlv]:
    try:
        return decode(data)
    except TlvError as exc:
        raise ArfError(f"{what} does not decode as DER: {exc}") from None


def _path(tlv: Tlv, what: str) -> bytes:
    """A PKCS#15 Path ``30 { 04 path }``."""
    if tlv.tag != 0x30:
        raise ArfError(f"{what}: a Path (30) expected, got tag {tlv.tag:X}")
    inner = _tlvs(tlv.value, what)
    if not inner or inner[0].tag != 0x04 or not inner[0].value or len(inner[0].value) % 2:
        raise ArfError(f"{what}: the Path holds no file identifier (04 with 2n bytes)")
    return inner[0].value


def dodf_path(odf: bytes) -> bytes:
    for tlv in _tlvs(odf, "EF ODF"):
        if tlv.tag == 0xA7:
            inner = _tlvs(tlv.value, "EF ODF DODF entry")
            if not inner:
                raise ArfError("EF ODF: empty DODF entry (A7)")
            return _path(inner[0], "EF ODF DODF entry")
    raise ArfError("EF ODF has no DODF entry (A7)")


def acmf_path(dodf: bytes) -> bytes:
    for tlv in _tlvs(dodf, "EF DODF"):
        if tlv.tag != 0xA1:
            continue
        parts = _tlvs(tlv.value, "EF DODF oidDO")
        typed = [p for p in parts[2:] if p.tag == 0xA1]
        if len(parts) < 3 or parts[0].tag != 0x30 or parts[1].tag != 0x30 or not typed:
            raise ArfError("EF DODF: an oidDO (A1) is not {common attrs, data attrs, [A0], A1 type attrs}")
        oid_do = _tlvs(typed[0].value, "EF DODF OidDO")
        if not oid_do or oid_do[0].tag != 0x30:
            raise ArfError("EF DODF: the OidDO type attributes hold no SEQUENCE")
        body = _tlvs(oid_do[0].value, "EF DODF OidDO")
        if len(body) < 2 or body[0].tag != 0x06:
            raise ArfError("EF DODF: the OidDO has no OBJECT IDENTIFIER and value")
        if decode_oid(body[0].value) == AC_OID:
            return _path(body[1], "EF DODF access-control OidDO")
    raise ArfError(f"EF DODF has no OidDO with the access-control OID {AC_OID}")


@dataclass(frozen=True)
class Acmf:
    refresh_tag: bytes
    acrf_path: bytes


def parse_acmf(acmf: bytes) -> Acmf:
    outer = _tlvs(acmf, "EF ACMF")
    if len(outer) != 1 or outer[0].tag != 0x30:
        raise ArfError("EF ACMF is not one SEQUENCE")
    inner = _tlvs(outer[0].value, "EF ACMF")
    if len(inner) < 2 or inner[0].tag != 0x04:
        raise ArfError("EF ACMF: refresh tag (04) and ACRF path expected")
    if len(inner[0].value) != 8:
        raise ArfError(f"EF ACMF: the refresh tag is {len(inner[0].value)} bytes, not 8")
    return Acmf(inner[0].value, _path(inner[1], "EF ACMF ACRF path"))


def parse_acrf(acrf: bytes) -> list[tuple[seac.AidRef, bytes]]:
    entries: list[tuple[seac.AidRef, bytes]] = []
    for rule in _tlvs(acrf, "EF ACRF"):
        if rule.tag != 0x30:
            raise ArfError(f"EF ACRF: a rule is a SEQUENCE, got tag {rule.tag:X}")
        parts = _tlvs(rule.value, "EF ACRF rule")
        if len(parts) != 2:
            raise ArfError("EF ACRF: a rule is {target, ACCF path}")
        target = parts[0]
        aid: seac.AidRef
        if target.tag == 0xA0:
            inner = _tlvs(target.value, "EF ACRF target")
            if len(inner) != 1 or inner[0].tag != 0x04 or not 5 <= len(inner[0].value) <= 16:
                raise ArfError("EF ACRF: an AID target is A0 { 04 <5-16 byte AID> }")
            aid = inner[0].value
        elif target.tag == 0x81 and not target.value:
            aid = "default"
        elif target.tag == 0x82 and not target.value:
            aid = "all"
        else:
            raise ArfError(f"EF ACRF: unknown rule target {target.tag:X}")
        entries.append((aid, _path(parts[1], "EF ACRF ACCF path")))
    return entries


def parse_accf(aid: seac.AidRef, accf: bytes) -> list[seac.Rule]:
    """The conditions of one EF ACCF as rules for ``aid``; an ACCF without conditions is one never-rule."""
    conditions = _tlvs(accf, "EF ACCF")
    if not conditions:
        return [seac.Rule(seac.RefDo(aid, b""), seac.ArDo("never", None))]
    rules: list[seac.Rule] = []
    for condition in conditions:
        if condition.tag != 0x30:
            raise ArfError(f"EF ACCF: a condition is a SEQUENCE, got tag {condition.tag:X}")
        parts = _tlvs(condition.value, "EF ACCF condition")
        digest = b""
        if parts and parts[0].tag == 0x04:
            digest = parts.pop(0).value
            if len(digest) not in (0, 20):
                raise ArfError(f"EF ACCF: a certificate hash of {len(digest)} bytes (SHA-1: 20)")
        apdu: seac.ApduRule = "always"
        nfc: bool | None = None
        if parts:
            if parts[0].tag != 0xA0 or len(parts) != 1:
                raise ArfError("EF ACCF: after the hash only the access rules (A0)")
            for item in _tlvs(parts[0].value, "EF ACCF access rules"):
                inner = _tlvs(item.value, "EF ACCF access rule")
                if len(inner) != 1:
                    raise ArfError("EF ACCF: an access rule holds exactly one choice")
                choice = inner[0]
                if item.tag == 0xA0 and choice.tag == 0x80 and choice.value in (b"\x00", b"\x01"):
                    apdu = "always" if choice.value == b"\x01" else "never"
                elif item.tag == 0xA0 and choice.tag == 0xA1:
                    filters = _tlvs(choice.value, "EF ACCF APDU filters")
                    if not filters or any(f.tag != 0x04 or len(f.value) != 8 for f in filters):
                        raise ArfError("EF ACCF: APDU filters are 04 <4-byte header, 4-byte mask> each")
                    apdu = tuple(seac.ApduFilter(f.value[:4], f.value[4:]) for f in filters)
                elif item.tag == 0xA1 and choice.tag == 0x80 and choice.value in (b"\x00", b"\x01"):
                    nfc = choice.value == b"\x01"
                else:
                    raise ArfError(f"EF ACCF: unknown access rule {item.tag:X}/{choice.tag:X}")
        rules.append(seac.Rule(seac.RefDo(aid, digest), seac.ArDo(apdu, nfc)))
    return rules


@dataclass
class ArfFiles:
    """Everything read on the way, for the tests' messages."""

    odf: bytes = b""
    dodf: bytes = b""
    acmf: Acmf | None = None
    acrf: list[tuple[seac.AidRef, bytes]] = field(default_factory=list)
    rules: list[seac.Rule] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)


class ArfClient:
    """Reads the ARF of the UICC behind ``card`` on logical channel ``channel`` (opened by the caller)."""

    def __init__(self, card: CardSession, channel: int) -> None:
        self.card, self.channel = card, channel

    def select_application(self) -> bytes:
        r = self.card.send(0x00, 0xA4, 0x04, 0x04, PKCS15_AID, ne=256, channel=self.channel)
        assert r.ok, f"SELECT of the PKCS#15 application {PKCS15_AID.hex().upper()} answered {r}"
        return r.data

    def read_file(self, path: bytes, what: str) -> bytes:
        """SELECT each file identifier of ``path`` (00 A4 00 04 02 <FID>), then READ BINARY the EF to the
        size its FCP gives, as AOSP's EF.selectFile and readBinary do."""
        r = None
        for i in range(0, len(path), 2):
            r = self.card.send(0x00, 0xA4, 0x00, 0x04, path[i : i + 2], ne=256, channel=self.channel)
            assert r.ok, f"SELECT of {what} ({path[i : i + 2].hex().upper()}) answered {r}"
        assert r is not None
        try:
            size = uicc.parse_fcp(r.data).size
        except TlvError as exc:
            raise ArfError(f"the FCP of {what} does not decode: {exc}") from None
        if size is None:
            raise ArfError(f"the FCP of {what} gives no file size (80)")
        out = b""
        while len(out) < size:
            chunk = self.card.transmit(
                CommandApdu(
                    self.card_cla(), 0xB0, len(out) >> 8, len(out) & 0xFF, ne=min(256, size - len(out))
                )
            )
            assert chunk.ok, f"READ BINARY of {what} at {len(out)} answered {chunk}"
            if not chunk.data:
                raise ArfError(f"READ BINARY of {what} returned no data at {len(out)} of {size} bytes")
            out += chunk.data
        return out

    def card_cla(self) -> int:
        return self.channel if self.channel < 4 else 0x40 | (self.channel - 4)

    def read(self) -> ArfFiles:
        files = ArfFiles()
        self.select_application()
        files.odf = self.read_file(EF_ODF.to_bytes(2, "big"), "EF ODF")
        files.dodf = self.read_file(dodf_path(files.odf), "EF DODF")
        files.acmf = parse_acmf(self.read_file(acmf_path(files.dodf), "EF ACMF"))
        files.acrf = parse_acrf(self.read_file(files.acmf.acrf_path, "EF ACRF"))
        for aid, path in files.acrf:
            files.rules += parse_accf(aid, self.read_file(path, f"EF ACCF {path.hex().upper()}"))
        return files
