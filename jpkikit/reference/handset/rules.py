"""Access rules as Android's Access Control Enforcer holds them: the REF-DO keys, the channel access each rule
gives, AOSP's reading of REF-AR-DOs and its rule cache (AOSP security/ChannelAccess.java,
AccessRuleCache.java,
gpac/*.java; jpkikit.vocab.omapi.android states which Android release does what).

- Rules are keyed by their REF-DO (AID-REF-DO tag and value, Hash-REF-DO, PKG-REF-DO); rules with the same
  REF-DO merge: APDU NEVER > filters (joined) > ALWAYS > no APDU-AR-DO; NFC NEVER > ALWAYS > none. Missing
  attributes are resolved after merging from API 30, per rule before.
- Lookup is AOSP's findAccessRule: (AID, one of the app's hashes, in order) > AID named with another hash:
  never > (AID, all apps) > (all AIDs, hash) > all AIDs with another hash: never > (all, all) > none.
- Parsing follows AOSP: unknown DOs are skipped; a REF-DO without AID is a carrier-privilege rule (API 30+);
  a 32-byte hash needs API 29+; AID + hash + PKG together is an error from API 30 (the PKG is skipped before).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi.android import CARRIER_PRIVILEGE_AID, Android

T_AID, T_DEFAULT = seac.T_AID, seac.T_IMPLICIT


class A(Enum):
    """ChannelAccess.ACCESS"""

    ALLOWED = "allowed"
    DENIED = "denied"
    UNDEFINED = "undefined"


@dataclass
class ChannelAccess:
    """What one channel may do (AOSP ChannelAccess): open at all (``access``), APDUs (``apdu``, or the
    ``filters`` when ``use_filter``), NFC events (``nfc``), privileged commands (``privilege``)."""

    access: A = A.UNDEFINED
    apdu: A = A.UNDEFINED
    nfc: A = A.UNDEFINED
    use_filter: bool = False
    filters: tuple[seac.ApduFilter, ...] = ()
    reason: str = "no access by default"
    privilege: A = A.UNDEFINED
    package: str = ""

    def copy(self) -> ChannelAccess:
        return copy.copy(self)

    @classmethod
    def denied(cls, reason: str) -> ChannelAccess:
        return cls(A.DENIED, A.DENIED, A.DENIED, reason=reason)

    @classmethod
    def allowed(cls, reason: str = "") -> ChannelAccess:
        return cls(A.ALLOWED, A.ALLOWED, A.ALLOWED, reason=reason)

    @classmethod
    def privileged(cls, package: str) -> ChannelAccess:
        return cls(A.ALLOWED, A.ALLOWED, A.ALLOWED, reason="privilege application", privilege=A.ALLOWED,
                   package=package)  # fmt: skip

    @classmethod
    def carrier(cls, package: str) -> ChannelAccess:
        return cls(A.ALLOWED, A.ALLOWED, A.UNDEFINED, reason="Carrier-Privilege", privilege=A.ALLOWED,
                   package=package)  # fmt: skip


@dataclass(frozen=True)
class RefKey:
    """A REF-DO as AOSP compares them: AID-REF-DO (tag 4F or C0, value), Hash-REF-DO, PKG-REF-DO."""

    tag: int
    aid: bytes = b""
    hash: bytes = b""
    pkg: str | None = None

    @property
    def carrier_privilege(self) -> bool:
        return self.tag == T_AID and self.aid == CARRIER_PRIVILEGE_AID

    @classmethod
    def for_target(cls, aid: bytes | None, hash_: bytes = b"") -> RefKey:
        """The AID-REF-DO AOSP looks up for an open call: C0 for no AID (or 00 00 00 00 00), else 4F."""
        if aid is None or aid == bytes(5):
            return cls(T_DEFAULT, b"", hash_)
        return cls(T_AID, bytes(aid), hash_)


@dataclass(frozen=True)
class ArRule:
    """One AR-DO as read: APDU rule ("always", "never", filters, or None when absent) and NFC rule."""

    apdu: seac.ApduRule = None
    nfc: bool | None = None
    perm: bytes | None = None


class RuleParseError(Exception):
    """The rules do not parse as AOSP reads them (AOSP ParserException): the ACE uses none of them."""


# -- parsing (AOSP gpac/*.java) ------------------------------------------------------------------------------


def _tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """BER-TLVs as AOSP's BerTlv.decode reads them (1- or 2-byte tags, lengths up to 83)."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:
            if pos >= len(data):
                raise RuleParseError("tag cut short")
            tag = tag << 8 | data[pos]
            pos += 1
        if pos >= len(data):
            raise RuleParseError(f"no length for tag {tag:X}")
        first = data[pos]
        pos += 1
        if first & 0x80:
            n = first & 0x7F
            if not 1 <= n <= 3 or pos + n > len(data):
                raise RuleParseError(f"bad length field for tag {tag:X}")
            length = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        else:
            length = first
        if pos + length > len(data):
            raise RuleParseError(f"not enough data for tag {tag:X}")
        out.append((tag, data[pos : pos + length]))
        pos += length
    return out


def _first_tlv(data: bytes) -> tuple[int, bytes] | None:
    """The first TLV of ``data`` (AOSP Response_DO_Factory.createDO: what follows it is not looked at)."""
    try:
        return _tlvs(data[: _tlv_end(data)])[0]
    except (RuleParseError, IndexError):
        return None


def _tlv_end(data: bytes) -> int:
    """The offset after the first TLV of ``data``."""
    pos = 2 if data and data[0] & 0x1F == 0x1F else 1
    if pos >= len(data):
        raise RuleParseError("TLV cut short")
    first = data[pos]
    pos += 1
    if first & 0x80:
        n = first & 0x7F
        return pos + n + int.from_bytes(data[pos : pos + n], "big")
    return pos + first


def parse_ref(value: bytes, android: Android) -> RefKey:
    aid: tuple[int, bytes] | None = None
    hash_: bytes | None = None
    pkg: str | None = None
    for tag, v in _tlvs(value):
        if tag in (T_AID, T_DEFAULT):
            if tag == T_DEFAULT and v:
                raise RuleParseError("Invalid value length for AID-REF-DO!")
            if tag == T_AID and v and not 5 <= len(v) <= 16:
                raise RuleParseError("Invalid value length for AID-REF-DO!")
            aid = (tag, v)
        elif tag == seac.T_HASH:
            lengths = (0, 20, 32) if android.sha256_hashes else (0, 20)
            if len(v) not in lengths:
                raise RuleParseError("Invalid value length for Hash-REF-DO!")
            hash_ = v
        elif tag == seac.T_PKG and android.carrier_privilege:
            if len(v) > 128:
                raise RuleParseError("Invalid value length for PKG-REF-DO!")
            pkg = v.decode("latin-1")
        # any other DO is skipped
    if android.pkg_with_aid_is_error and aid is not None and hash_ is not None and pkg is not None:
        if not (aid[0] == T_AID and aid[1] == CARRIER_PRIVILEGE_AID):
            raise RuleParseError("Unexpected combination of SEAC DOs and DAC DO")
    if aid is None and hash_ is not None and android.carrier_privilege:
        aid = (T_AID, CARRIER_PRIVILEGE_AID)
    if aid is None:
        raise RuleParseError("Missing AID-REF-DO in REF-DO!")
    if hash_ is None:
        raise RuleParseError("Missing Hash-REF-DO in REF-DO!")
    return RefKey(aid[0], aid[1], hash_, pkg)


def parse_ar(value: bytes, android: Android) -> ArRule:
    apdu: seac.ApduRule = None
    nfc: bool | None = None
    perm: bytes | None = None
    for tag, v in _tlvs(value):
        if tag == seac.T_APDU_AR:
            if len(v) == 1:
                if v[0] not in (0, 1):
                    raise RuleParseError(f"Invalid value of APDU-AR-DO : {v[0]:02x}")
                apdu = "always" if v[0] else "never"
            elif v and len(v) % 8 == 0:
                apdu = tuple(seac.ApduFilter(v[i : i + 4], v[i + 4 : i + 8]) for i in range(0, len(v), 8))
            elif not v:
                apdu = "never"
            else:
                raise RuleParseError("Invalid length of APDU-AR-DO!")
        elif tag == seac.T_NFC_AR:
            if len(v) != 1 or v[0] not in (0, 1):
                raise RuleParseError("Invalid NFC-AR-DO!")
            nfc = v[0] == 1
        elif tag == seac.T_PERM_AR and android.carrier_privilege:
            if len(v) != 8:
                raise RuleParseError("Invalid length of PERM-AR-DO!")
            perm = v
    if apdu is None and nfc is None and perm is None:
        raise RuleParseError("No valid DO in AR-DO!")
    return ArRule(apdu, nfc, perm)


def parse_all(data: bytes, android: Android) -> list[tuple[RefKey, ArRule | None]]:
    """The REF-AR-DOs of a Response-ALL-REF-AR-DO (FF40); raises RuleParseError as AOSP would refuse it."""
    first = _first_tlv(data)
    if first is None or first[0] != seac.T_ALL:
        raise RuleParseError("No valid data object found")
    out: list[tuple[RefKey, ArRule | None]] = []
    for tag, value in _tlvs(first[1]):
        if tag != seac.T_REF_AR:
            continue
        ref: RefKey | None = None
        ar: ArRule | None = None
        for inner, v in _tlvs(value):
            if inner == seac.T_REF:
                ref = parse_ref(v, android)
            elif inner == seac.T_AR:
                ar = parse_ar(v, android)
        if ref is not None and ar is None and ref.carrier_privilege:
            out.append((ref, None))
            continue
        if ref is None:
            raise RuleParseError("Missing Ref-DO in REF-AR-DO!")
        if ar is None:
            raise RuleParseError("Missing AR-DO in REF-AR-DO!")
        out.append((ref, ar))
    return out


# -- the cache (AOSP AccessRuleCache) ------------------------------------------------------------------------


def map_ar(ar: ArRule, android: Android) -> ChannelAccess:
    """mapArDo2ChannelAccess: the access one AR-DO gives."""
    ca = ChannelAccess()
    if android.missing_attributes_after_merge:
        if ar.apdu is not None:
            if ar.apdu == "never":
                ca.access, ca.reason = (
                    A.DENIED,
                    "NEVER is explicitly specified as the APDU access rule policy",
                )
                ca.apdu = A.DENIED
            else:
                ca.access, ca.reason = A.ALLOWED, ""
                if isinstance(ar.apdu, tuple):
                    ca.use_filter, ca.filters = True, ar.apdu
                else:
                    ca.apdu = A.ALLOWED
        if ar.nfc is not None:
            ca.nfc = A.ALLOWED if ar.nfc else A.DENIED
        return ca
    if ar.apdu is not None:
        ca.access, ca.reason = A.ALLOWED, ""
        if ar.apdu == "never":
            ca.apdu = A.DENIED
        elif isinstance(ar.apdu, tuple):
            ca.use_filter, ca.filters = True, ar.apdu
        else:
            ca.apdu = A.ALLOWED
    else:
        ca.access, ca.reason = A.DENIED, "No APDU access rule available.!"
    ca.nfc = (A.ALLOWED if ar.nfc else A.DENIED) if ar.nfc is not None else ca.apdu
    return ca


def _merge_new(ca: ChannelAccess, new: ChannelAccess) -> None:
    """AOSP putWithMerge from API 30: the most restrictive attribute wins, missing ones stay undefined."""
    if ca.access != A.DENIED:
        if new.access == A.DENIED:
            ca.access, ca.reason = A.DENIED, new.reason
        elif new.access == A.ALLOWED:
            ca.access, ca.reason = A.ALLOWED, ""
    if ca.nfc != A.DENIED and new.nfc != A.UNDEFINED:
        ca.nfc = new.nfc
    if ca.apdu != A.DENIED:
        if new.apdu == A.DENIED:
            ca.apdu = A.DENIED
        elif ca.use_filter or new.use_filter:
            pass
        elif new.apdu == A.ALLOWED:
            ca.apdu = A.ALLOWED
    _join_filters(ca, new)


def _merge_old(ca: ChannelAccess, new: ChannelAccess) -> None:
    """AOSP putWithMerge until API 29."""

    def combine(old: A, other: A, undefined_both: A) -> A:
        if A.DENIED in (old, other):
            return A.DENIED
        if other == A.UNDEFINED and old != A.UNDEFINED:
            return old
        if other != A.UNDEFINED and old == A.UNDEFINED:
            return other
        return undefined_both if other == old == A.UNDEFINED else A.ALLOWED

    access = combine(ca.access, new.access, A.ALLOWED)
    ca.reason = new.reason if access == A.DENIED else ca.reason
    ca.access = access
    ca.nfc = combine(ca.nfc, new.nfc, A.ALLOWED)
    if ca.apdu == A.UNDEFINED and new.apdu == A.UNDEFINED:
        ca.apdu = A.ALLOWED if new.use_filter else A.DENIED
    else:
        ca.apdu = combine(ca.apdu, new.apdu, A.ALLOWED)
    _join_filters(ca, new)


def _join_filters(ca: ChannelAccess, new: ChannelAccess) -> None:
    if ca.apdu != A.DENIED:
        if new.use_filter:
            ca.use_filter, ca.filters = True, ca.filters + new.filters
    else:
        ca.use_filter, ca.filters = False, ()


@dataclass
class AccessRuleCache:
    android: Android = field(default_factory=Android)
    refresh_tag: bytes | None = None
    rules: dict[RefKey, ChannelAccess] = field(default_factory=dict)
    carrier: list[RefKey] = field(default_factory=list)

    def reset(self) -> None:
        self.refresh_tag = None
        self.clear()

    def clear(self) -> None:
        self.rules.clear()
        self.carrier.clear()

    def put_rule(self, ref: RefKey, ar: ArRule | None) -> None:
        if ref.carrier_privilege:
            if self.android.carrier_privilege:
                self.carrier.append(ref)
            return
        assert ar is not None
        self.put_with_merge(ref, map_ar(ar, self.android))

    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        if ref.carrier_privilege:
            if self.android.carrier_privilege:
                self.carrier.append(ref)
            return
        current = self.rules.get(ref)
        if current is None:
            self.rules[ref] = access
        elif self.android.missing_attributes_after_merge:
            _merge_new(current, access)
        else:
            _merge_old(current, access)

    def find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        """findAccessRule: the access for ``aid`` (None: the default application) and the app's hashes."""
        found = self._find(aid, hashes)
        if found is None:
            return None
        ca = found.copy()
        if self.android.missing_nfc_follows_apdu:
            if ca.apdu == A.UNDEFINED and not ca.use_filter:
                ca.apdu = A.DENIED
                if self.android.missing_attributes_after_merge:
                    ca.access, ca.reason = A.DENIED, "No APDU access rule is available"
            if ca.nfc == A.UNDEFINED:
                ca.nfc = A.ALLOWED if ca.use_filter else ca.apdu
        else:
            if ca.apdu == A.UNDEFINED:
                ca.apdu = A.DENIED
            if ca.nfc == A.UNDEFINED:
                ca.nfc = ca.apdu
        return ca

    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        target = RefKey.for_target(aid)
        for h in hashes:  # rule A: (AID, this app), the app's hashes in order
            hit = self.rules.get(RefKey(target.tag, target.aid, bytes(h)))
            if hit is not None:
                return hit
        if not (target.tag == T_AID and not target.aid) and any(
            k.tag == target.tag and k.aid == target.aid and k.hash for k in self.rules
        ):
            return ChannelAccess.denied("AID has a specific access rule with a different hash. (Case A)")
        hit = self.rules.get(RefKey(target.tag, target.aid, b""))  # rule B: (AID, all apps)
        if hit is not None:
            return hit
        for h in hashes:  # rule C: (all AIDs, this app)
            hit = self.rules.get(RefKey(T_AID, b"", bytes(h)))
            if hit is not None:
                return hit
        if any(k.tag == T_AID and not k.aid and k.hash for k in self.rules):
            return ChannelAccess.denied(
                "An access rule with a different hash and all AIDs was found. (Case C)"
            )
        return self.rules.get(RefKey(T_AID, b"", b""))  # rule D: (all AIDs, all apps)

    def check_carrier_privilege(self, package: str, hashes: Sequence[bytes]) -> bool:
        for h in hashes:
            for ref in self.carrier:
                if ref.hash == bytes(h) and (ref.pkg is None or ref.pkg == package):
                    return True
        return False
