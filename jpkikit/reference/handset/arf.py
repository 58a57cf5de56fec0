"""Reading a UICC's PKCS#15 Access Rule Files as Android does when the UICC has no ARA-M (AOSP security/arf/
ArfController.java, SecureElement.java, PKCS15/*.java; the file layout is jpkikit.vocab.gp.arf).

The container is looked for on a logical channel of the ACE's own: the PKCS#15 application by AID, the GPAC
ARF
application, then EF DIR (3F00 2F00) on the default application; none of them: no ARF (NoSuchElement). Then
EF ODF -> EF DODF (the entry with the access-control OID) -> EF ACMF, whose refresh tag decides whether EF
ACRF
and the EF ACCFs it names are read again. Files are selected by file identifier with FCP (00 A4 00 04 02 FID)
and read with READ BINARY in 253-byte pieces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jpkikit.reference.handset.errors import AccessControlError, MissingResource
from jpkikit.reference.handset.rules import T_AID, T_DEFAULT, A, AccessRuleCache, ChannelAccess, RefKey
from jpkikit.vocab.gp import arf, seac

if TYPE_CHECKING:
    from jpkikit.reference.handset.channel import Channel
    from jpkikit.reference.handset.terminal import Terminal

CONTAINERS: tuple[bytes | None, ...] = (arf.PKCS15_AID, arf.GPAC_ARF_AID, None)
READ_CHUNK = 253
PADDING = 0xFF


class Pkcs15Error(Exception):
    """A PKCS#15 file is missing or does not parse (AOSP PKCS15Exception)."""


class Der:
    """AOSP's DERParser: one TLV at a time, FF padding ends the data."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data or b""
        self.pos = 0
        self.size = 0
        if self.data and self.data[0] == PADDING and any(b != PADDING for b in self.data):
            raise Pkcs15Error("[Parser] Incorrect file format")

    def end(self) -> bool:
        if self.pos >= len(self.data):
            return True
        if self.data[self.pos] == PADDING:
            if any(b != PADDING for b in self.data[self.pos :]):
                raise Pkcs15Error("[Parser] Incorrect file format")
            return True
        return False

    def tlv(self, expected: int | None = None) -> int:
        """Read a tag and a length; the value is next (:meth:`value` or :meth:`skip`)."""
        if self.end():
            raise Pkcs15Error("[Parser] Cannot retreive type")
        tag = self.data[self.pos]
        self.pos += 1
        if expected is not None and tag != expected:
            raise Pkcs15Error("[Parser] Unexpected type")
        if self.pos >= len(self.data):
            raise Pkcs15Error("[Parser] Cannot retreive size")
        size = self.data[self.pos]
        self.pos += 1
        if size >= 0x80:
            n = size - 0x80
            if self.pos + n > len(self.data):
                raise Pkcs15Error("[Parser] Cannot retreive size")
            size = int.from_bytes(self.data[self.pos : self.pos + n], "big")
            self.pos += n
        if self.pos + size > len(self.data):
            raise Pkcs15Error("[Parser] Not enough data")
        self.size = size
        return tag

    def value(self) -> bytes:
        out = self.data[self.pos : self.pos + self.size]
        self.pos += self.size
        return out

    def skip(self) -> None:
        self.pos += self.size

    def path(self) -> bytes:
        self.tlv(arf.T_SEQUENCE)
        self.tlv(arf.T_OCTETS)
        return self.value()

    def oid(self) -> str:
        if self.tlv(arf.T_OID) and not self.size:
            raise Pkcs15Error("[Parser] OID Length is null")
        raw = self.value()
        if not raw:
            raise Pkcs15Error("[Parser] OID Length is null")
        parts: list[int] = []
        value = 0
        for b in raw:
            value = value << 7 | (b & 0x7F)
            if not b & 0x80:
                parts.append(value)
                value = 0
        first = parts[0]
        head = [first // 40, first % 40] if first <= 79 else [2, first - 80]
        return ".".join(str(p) for p in head + parts[1:])


class ArfFiles:
    """SELECT and READ BINARY of PKCS#15 files on the ACE's channel (AOSP PKCS15/EF.java)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.size = 0
        self.transparent = False
        self.records = 0
        self.record_size = 0

    def select(self, path: bytes) -> int:
        if not path or len(path) % 2:
            raise Pkcs15Error("Incorrect path")
        response = b""
        for i in range(0, len(path), 2):
            response = self.channel.transmit(bytes.fromhex("00A4000402") + path[i : i + 2])
            if response[-2] not in (0x62, 0x63, 0x90, 0x91):
                return int.from_bytes(response[-2:], "big")
        self._file_properties(response[:-2])
        return 0x9000

    def _file_properties(self, fcp: bytes) -> None:
        self.size, self.transparent, self.records, self.record_size = 0, False, 0, 0
        if not fcp or fcp[0] != 0x62:
            return  # SIM (TS 51.011) properties: not used by the kit's UICC
        der = Der(fcp)
        der.tlv(0x62)
        while not der.end():
            tag = der.tlv()
            value = der.value()
            if tag == 0x80 and len(value) >= 2:
                self.size = int.from_bytes(value[:2], "big")
            elif tag == 0x82 and len(value) >= 2:
                self.transparent = value[0] & 0x07 == 0x01
                if len(value) == 5:
                    self.record_size, self.records = value[3], value[4]

    def read_binary(self) -> bytes | None:
        if self.size == 0:
            return None
        if not self.transparent:
            raise Pkcs15Error("Incorrect file structure")
        out = b""
        offset = 0
        while offset < self.size:
            length = min(READ_CHUNK, self.size - offset)
            response = self.channel.transmit(bytes((0x00, 0xB0, offset >> 8, offset & 0xFF, length)))
            if len(response) - 2 < length:
                raise Pkcs15Error("READ BINARY answered less than asked")
            out += response[:length]
            offset += length
        return out

    def read_record(self, number: int) -> bytes:
        response = self.channel.transmit(bytes((0x00, 0xB2, number, 0x04, self.record_size)))
        return response[: self.record_size]


class ArfController:
    """Reads the ARF into the rule cache (one per ACE)."""

    def __init__(self, cache: AccessRuleCache, terminal: Terminal) -> None:
        self.cache = cache
        self.terminal = terminal
        self.channel: Channel | None = None
        self.pkcs15_path: bytes | None = None
        self.acmf_path: bytes | None = None
        self.acmf_found = True
        self.reads = 0

    # -- AOSP PKCS15Handler.loadAccessControlRules ----------------------------------------------------------

    def initialize(self) -> bool:
        from jpkikit.vocab.omapi.errors import NoSuchElementError, OmapiIOError

        try:
            self._entry_point()
            return self._update_rules()
        except (OmapiIOError, MissingResource, NoSuchElementError):
            raise
        except Exception as exc:
            raise AccessControlError(str(exc)) from None
        finally:
            self._close()

    def _close(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None

    def _open(self, aid: bytes) -> Channel:
        channel = self.terminal.open_logical_channel_without_access(aid)
        if channel is None:
            raise MissingResource("No channel was available")
        channel.access = ChannelAccess(A.ALLOWED, A.ALLOWED, reason="")
        self.channel = channel
        return channel

    def _entry_point(self) -> None:
        from jpkikit.vocab.omapi.errors import NoSuchElementError

        absent = True
        for aid in CONTAINERS:
            try:
                self._select_container(aid)
                absent = False
                if self.acmf_path is None:
                    assert self.channel is not None
                    files = ArfFiles(self.channel)
                    odf_path = (self.pkcs15_path or b"") + arf.EF_ODF.to_bytes(2, "big")
                    if files.select(odf_path) != 0x9000:
                        raise Pkcs15Error("EF_ODF not found!!")
                    dodf = _dodf_path(files.read_binary())
                    if dodf is None or files.select(dodf) != 0x9000:
                        raise Pkcs15Error("EF_DODF not found!")
                    self.acmf_path = _acmf_path(files.read_binary())
                break
            except NoSuchElementError:
                continue
        if absent:
            raise NoSuchElementError("No ARF exists")

    def _select_container(self, aid: bytes | None) -> None:
        from jpkikit.vocab.omapi.errors import NoSuchElementError

        if aid is not None:
            self._open(aid)
            self.pkcs15_path = None
            return
        channel = self._open(b"")
        if self.pkcs15_path is None:
            self.acmf_path = None
            self.pkcs15_path = _lookup_ef_dir(ArfFiles(channel), arf.PKCS15_AID)
            if self.pkcs15_path is None:
                raise NoSuchElementError("Cannot select PKCS#15 directory via EF Dir")

    def _update_rules(self) -> bool:
        if not self.acmf_found:
            self.cache.reset()
            self.acmf_path = None
            self._close()
            self._entry_point()
        try:
            acrf_path = self._analyse_acmf()
            self.acmf_found = True
        except Exception:
            self.cache.reset()
            self.acmf_found = False
            raise
        if acrf_path is None:
            return False
        self.cache.clear()
        self.acmf_path = None
        self._close()
        self._entry_point()
        try:
            self._analyse_acrf(acrf_path)
        except Exception:
            self.cache.reset()
            raise
        self.reads += 1
        return True

    def _analyse_acmf(self) -> bytes | None:
        assert self.channel is not None and self.acmf_path is not None
        files = ArfFiles(self.channel)
        if files.select((self.pkcs15_path or b"") + self.acmf_path) != 0x9000:
            raise Pkcs15Error("EF_ACMain not found!")
        der = Der(files.read_binary())
        der.tlv(arf.T_SEQUENCE)
        der.tlv(arf.T_OCTETS)
        if der.size != arf.REFRESH_TAG_LENGTH:
            raise Pkcs15Error("[Parser] RefreshTag length not valid")
        tag = der.value()
        if tag == self.cache.refresh_tag:
            return None
        self.cache.refresh_tag = tag
        return der.path()

    def _analyse_acrf(self, path: bytes) -> None:
        assert self.channel is not None
        files = ArfFiles(self.channel)
        if files.select((self.pkcs15_path or b"") + path) != 0x9000:
            raise Pkcs15Error("EF_ACRules not found!!")
        der = Der(files.read_binary())
        seen: dict[bytes, bytes] = {}
        while not der.end():
            der.tlv(arf.T_SEQUENCE)
            kind = der.tlv()
            if kind == arf.T_TARGET_AID:
                der.tlv(arf.T_OCTETS)
                target = (T_AID, der.value())
            elif kind == arf.T_TARGET_DEFAULT:
                der.skip()
                target = (T_DEFAULT, b"")
            elif kind == arf.T_TARGET_ALL:
                der.skip()
                target = (T_AID, b"")
            else:
                raise Pkcs15Error("[Parser] Unexpected ACRules entry")
            accf = der.path()
            if accf in seen:
                self._conditions(target, seen[accf])
            elif files.select((self.pkcs15_path or b"") + accf) == 0x9000:
                data = files.read_binary()
                self._conditions(target, data)
                if data is not None:
                    seen[accf] = data

    def _conditions(self, target: tuple[int, bytes], data: bytes | None) -> None:
        """AOSP EFACConditions.decodeDER: the conditions of one SE application into the cache."""
        tag, aid = target
        der = Der(data)
        current = b""  # the hash of the last condition (AOSP keeps it across an empty condition)
        if der.end():
            self.cache.put_with_merge(RefKey(tag, aid, b""), ChannelAccess.denied("Empty ACCondition"))
            return
        while not der.end():
            ca = ChannelAccess(A.ALLOWED, A.ALLOWED, A.UNDEFINED, reason="")
            der.tlv(arf.T_SEQUENCE)
            if der.size > 0:
                rule = Der(der.value())
                first = rule.data[0]
                if first == arf.T_OCTETS:
                    rule.tlv(arf.T_OCTETS)
                    current = rule.value()
                    lengths = (0, 20, 32) if self.cache.android.sha256_hashes else (0, 20)
                    if len(current) not in lengths:
                        raise Pkcs15Error("Invalid hash found!")
                elif first == PADDING:
                    raise Pkcs15Error("Invalid hash found!")
                else:
                    current = b""
                if not rule.end() and rule.tlv() == arf.T_ACCESS_RULES:
                    _access_rules(Der(rule.value()), ca)
            else:
                der.skip()
                if ca.nfc == A.UNDEFINED and ca.apdu != A.UNDEFINED:
                    ca.nfc = ca.apdu
            self.cache.put_with_merge(RefKey(tag, aid, current), ca)


def _access_rules(der: Der, ca: ChannelAccess) -> None:
    while not der.end():
        kind = der.tlv()
        inner = Der(der.value())
        if kind == arf.T_APDU_RULE:
            rule = inner.tlv()
            value = inner.value()
            if rule == arf.T_PERMISSION:
                ca.apdu = A.ALLOWED if value[:1] == b"\x01" else A.DENIED
            elif rule == arf.T_FILTERS:
                filters = Der(value)
                found = []
                while not filters.end():
                    if filters.tlv() != arf.T_OCTETS:
                        raise Pkcs15Error("Invalid element found!")
                    raw = filters.value()
                    found.append(seac.ApduFilter(raw[:4], raw[4:8]))
                if not found:
                    raise Pkcs15Error("Invalid element found!")
                ca.use_filter, ca.filters = True, tuple(found)
            else:
                raise Pkcs15Error("Invalid element found!")
        elif kind == arf.T_NFC_RULE:
            if inner.tlv() != arf.T_PERMISSION:
                raise Pkcs15Error("Invalid element found!")
            ca.nfc = A.ALLOWED if inner.value()[:1] == b"\x01" else A.DENIED
        else:
            raise Pkcs15Error("Invalid element found!")


def _dodf_path(odf: bytes | None) -> bytes | None:
    der = Der(odf)
    while not der.end():
        if der.tlv() == arf.T_DODF:
            return der.path()
        der.skip()
    return None


def _acmf_path(dodf: bytes | None) -> bytes | None:
    der = Der(dodf)
    while not der.end():
        if der.tlv() != arf.T_OID_DO:
            der.skip()
            continue
        der.tlv(arf.T_SEQUENCE)
        der.skip()
        der.tlv(arf.T_SEQUENCE)
        der.skip()
        kind = der.tlv()
        if kind == 0xA0:  # subclass attributes
            der.skip()
            kind = der.tlv()
        if kind != arf.T_TYPE_ATTRIBUTES:
            raise Pkcs15Error("[Parser] OID Tag expected")
        der.tlv(arf.T_SEQUENCE)
        end = der.pos + der.size
        if der.oid() == arf.AC_OID:
            return der.path()
        der.pos = end
    return None


def _lookup_ef_dir(files: ArfFiles, aid: bytes) -> bytes | None:
    """EF DIR (3F00 2F00, linear fixed): the path of the application with ``aid`` (AOSP EFDIR.lookupAID)."""
    if files.select(arf.EF_DIR_PATH) != 0x9000:
        raise Pkcs15Error("EF_DIR not found!!")
    for number in range(1, files.records + 1):
        der = Der(files.read_record(number))
        der.tlv(0x61)
        der.tlv(0x4F)
        if der.value() != aid:
            continue
        kind = der.tlv()
        if kind == 0x50:
            der.skip()
            der.tlv(0x51)
        elif kind != 0x51:
            raise Pkcs15Error("[Parser] Application Tag expected")
        return der.value()
    return None
