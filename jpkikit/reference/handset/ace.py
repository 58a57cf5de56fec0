"""The Access Control Enforcer (docs/spec/globalplatform.md, "Rule resolution on the device" and "Android
enforcement"): reads the SE's ARA-M rules (GET DATA [All] + [Next]), caches them under the refresh tag, and
decides per (SE application AID, app certificate hashes).

- Resolution order (SEAC v1.0 §4.2.3, as AOSP AccessRuleCache applies it; rules A-D as in the requirements
  HS-ACE-A to HS-ACE-D): A exact (AID, hash); specific AID with another app's hash -> NEVER; B (AID, all
  apps); C (all AIDs, hash); all AIDs with another app's hash -> NEVER; D (all, all); no rule -> deny.
- Several rules with the same REF-DO merge: APDU NEVER wins, filter lists are ORed, else ALWAYS; NFC NEVER
  wins; no APDU-AR-DO -> denied; no NFC-AR-DO inherits the APDU decision.
- No ARA-M on the SE: full access on an eSE, deny all on a UICC (Android enforcement). An ARA-M that errors
  or answers malformed rules: deny all, with the reason in :attr:`AccessControlEnforcer.error`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from jpkikit.errors import KitError
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu

Mode = Literal["always", "never", "filters"]


@dataclass(frozen=True)
class Access:
    """The decision for one (AID, app): APDU access mode, filters when mode is ``filters``, NFC, and why."""

    mode: Mode
    filters: tuple[seac.ApduFilter, ...] = ()
    nfc: bool = False
    reason: str = ""

    @property
    def channel_allowed(self) -> bool:
        return self.mode != "never"

    def allows(self, header: bytes) -> bool:
        """Whether a command with this header (as the app passed it, AOSP CommandApdu) may be sent."""
        if self.mode == "always":
            return True
        if self.mode == "filters":
            return any(f.matches(header) for f in self.filters)
        return False


DENY = Access("never", reason="no rule")


def merge(ars: Sequence[seac.ArDo]) -> Access:
    """Merge the AR-DOs of several rules with the same REF-DO (the merging of rule resolution on the
    device)."""
    apdus = [a.apdu for a in ars if a.apdu is not None]
    if not apdus or "never" in apdus:
        mode: Mode = "never"
        filters: tuple[seac.ApduFilter, ...] = ()
    else:
        filters = tuple(f for a in apdus if isinstance(a, tuple) for f in a)
        mode = "filters" if filters and "always" not in apdus else "always"
        if mode == "always":
            filters = ()
    nfcs = [a.nfc for a in ars if a.nfc is not None]
    nfc = (mode != "never") if not nfcs else all(nfcs)
    return Access(mode, filters, nfc)


def resolve(rules: Sequence[seac.Rule], aid: bytes | None, hashes: Sequence[bytes]) -> Access:
    """Apply rule resolution to ``rules`` for target ``aid`` (None: the default application, C0) and the
    app's hashes."""
    target: seac.AidRef = "default" if aid is None or aid == bytes(5) else bytes(aid)
    app = {bytes(h) for h in hashes}

    def step(aid_ref: seac.AidRef, label: str) -> Access | None:
        for_aid = [r for r in rules if r.ref.aid == aid_ref]
        exact = [r.ar for r in for_aid if r.ref.hash and r.ref.hash in app]
        if exact:
            return _why(merge(exact), f"{label} + app hash")
        if any(r.ref.hash for r in for_aid):
            return Access("never", reason=f"{label} names other apps only")
        generic = [r.ar for r in for_aid if not r.ref.hash]
        if generic:
            return _why(merge(generic), f"{label} + all apps")
        return None

    found = step(target, "specific AID") or step("all", "all AIDs")
    return found or DENY


def _why(access: Access, reason: str) -> Access:
    return Access(access.mode, access.filters, access.nfc, reason)


class AccessControlEnforcer:
    """Reads and caches the ARA-M rules through ``send`` (a raw APDU exchange with the SE, e.g. on a logical
    channel the reader opens for it) and answers access decisions."""

    #: The resolution function (SEAC v1.0 §4.2.3); the kit's faulty variants swap in broken ones.
    resolver: Callable[[Sequence[seac.Rule], bytes | None, Sequence[bytes]], Access] = staticmethod(resolve)

    def __init__(self, send: Callable[[CommandApdu], ResponseApdu], *, uicc: bool = False) -> None:
        self.send = send
        self.uicc = uicc
        self.rules: list[seac.Rule] | None = None  # None: no ARA-M (or not read yet)
        self.refresh_tag: bytes | None = None
        self.error: str | None = None
        self.reads = 0  # how many times the full rule set was read (refresh-tag caching, AOSP AraController)
        self.present = True

    def refresh(self) -> None:
        """Read the refresh tag; re-read all rules only when it differs from the cached one (ARA-M
        commands)."""
        try:
            tag = self._refresh_tag()
            if tag is not None and tag == self.refresh_tag and self.error is None:
                return
            self.rules = self._read_all()
            self.refresh_tag = tag
            self.error = None
            self.present = True
        except AramAbsent:
            self.present, self.rules, self.refresh_tag, self.error = False, None, None, None
        except (KitError, AramFailed) as exc:
            self.rules, self.refresh_tag = None, None
            self.error = f"access rules unusable, everything denied: {exc}"

    def _get(self, p1p2: int, ne: int = 256) -> ResponseApdu:
        return self.send(CommandApdu(0x80, 0xCA, p1p2 >> 8, p1p2 & 0xFF, ne=ne))

    def _refresh_tag(self) -> bytes | None:
        r = self._get(seac.T_REFRESH)
        if not r.ok:
            return None  # no refresh tag: read the rules every time
        tlvs = seac.decode_tlvs(r.data, "Response-Refresh-Tag-DO")
        if len(tlvs) != 1 or tlvs[0].tag != seac.T_REFRESH or len(tlvs[0].value) != 8:
            raise AramFailed("refresh tag is not DF20 with 8 bytes")
        return tlvs[0].value

    def _read_all(self) -> list[seac.Rule]:
        r = self._get(seac.T_ALL)
        self.reads += 1
        if r.sw == 0x6A88:
            return []  # "no rules", accepted as AOSP and SEEK do (ARA-M commands)
        if not r.ok:
            raise AramFailed(f"GET DATA [All] answered {r.sw:04X}")
        data = r.data
        head, pos = _header(data)
        total = pos + head
        rounds = 0
        while len(data) < total:
            rounds += 1
            if rounds > 1024:
                raise AramFailed("GET DATA [Next] does not finish")
            nxt = self._get(0xFF60, min(total - len(data), 256))
            if not nxt.ok or not nxt.data:
                raise AramFailed(f"GET DATA [Next] answered {nxt.sw:04X} with {len(data)}/{total} bytes read")
            data += nxt.data
        if len(data) != total:
            raise AramFailed(f"FF40 announces {total} bytes, {len(data)} arrived")
        return seac.decode_rules(data[pos:])

    def access(self, aid: bytes | None, hashes: Sequence[bytes]) -> Access:
        """The decision for a channel to ``aid`` by an app with ``hashes``, after a refresh-tag check."""
        self.refresh()
        if self.error is not None:
            return Access("never", reason=self.error)
        if not self.present:
            if self.uicc:
                return Access("never", reason="no ARA-M on a UICC: deny all")
            return Access("always", nfc=True, reason="no ARA-M on an eSE: full access")
        return self.resolver(self.rules or [], aid, hashes)


class AramAbsent(Exception):
    """Raised by the ``send`` callable when the SE has no ARA-M (its SELECT answered 6A82)."""


class AramFailed(Exception):
    """The ARA-M could not be read: an error status word, or an answer that does not parse."""


def _header(data: bytes) -> tuple[int, int]:
    """(length announced by FF40, offset of its value) from the first chunk."""
    if len(data) < 3 or data[:2] != b"\xff\x40":
        raise AramFailed(f"GET DATA [All] answer does not start with FF40: {data[:4].hex().upper()}")
    first = data[2]
    if first < 0x80:
        return first, 3
    n = first & 0x7F
    if not 1 <= n <= 3 or len(data) < 3 + n:
        raise AramFailed("FF40 length field is malformed")
    return int.from_bytes(data[3 : 3 + n], "big"), 3 + n
