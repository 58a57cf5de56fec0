"""Declared versus observed: ask the implementation what it is and compare with what its profile claims.

Each item is a :class:`Finding` with a status:

- ``match``         — observed as declared;
- ``mismatch``      — observed differently from the profile (the profile or the implementation is wrong);
- ``not answered``  — the implementation refused or did not answer (the status word or error is recorded);
                      a problem when the profile declares the item, an observation when it does not;
- ``observed``      — the profile declares nothing about it; the observed value is recorded as evidence.

Items: ATR (``ics.iso7816.atr``), CPLC (GET DATA 9F7F), card recognition data (GET DATA 66: GP version and
SCP03 i against ``ics.gp``), token label (JPKI EF 0006 against ``ics.jpki.token_label``), ARA-M presence
(SELECT A00000015141434C00), and the SCP03 security levels that open a session (against ``ics.gp.levels``,
only when the profile gives ISD keys in ``ixit.gp.keysets``). Every probe is defensive: an error in one
never stops the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jpkikit import __version__
from jpkikit.errors import KitError
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.iso7816.tlv import decode
from jpkikit.vocab.jpki.card import LABEL_LENGTH, SELECT_TOKEN_INFO
from jpkikit.vocab.jpki.layouts import parse_token_label

ARA_M_AID = bytes.fromhex("A00000015141434C00")
GP_OID = bytes.fromhex("2A864886FC6B")
LEVELS = (0x01, 0x03, 0x11, 0x13, 0x33)
PROBE_FORMAT = "jpkikit-probe/1"


@dataclass(frozen=True)
class Finding:
    item: str
    status: str  # match | mismatch | not answered | observed
    declared: str
    observed: str
    detail: str = ""

    @property
    def problem(self) -> bool:
        """A mismatch, or no answer about something the profile declares."""
        return self.status == "mismatch" or (
            self.status == "not answered" and not self.declared.startswith("nothing")
        )

    def line(self) -> str:
        text = f"{self.status.upper():<12} {self.item}: declared {self.declared}; observed {self.observed}"
        return text + (f" ({self.detail})" if self.detail else "")


def _compare(item: str, declared: Any, observed: str, shown: str | None = None) -> Finding:
    if declared is None:
        return Finding(item, "observed", "nothing", observed)
    shown = str(declared) if shown is None else shown
    return Finding(item, "match" if shown == observed else "mismatch", shown, observed)


def _get_data(card: CardSession, p1: int, p2: int) -> tuple[bytes | None, str]:
    r = card.send(0x80, 0xCA, p1, p2, ne=256)
    if r.sw != 0x9000:
        return None, f"SW {r.sw:04X}"
    return r.data, ""


def _tlv_value(data: bytes, tag: int) -> bytes:
    """The value of ``tag`` when ``data`` is that TLV, else ``data`` itself (some cards omit the tag)."""
    try:
        items = decode(data)
    except KitError:
        return data
    return items[0].value if len(items) == 1 and items[0].tag == tag else data


def probe_atr(card: CardSession, profile: Profile) -> list[Finding]:
    atr = card.reset().hex().upper()
    declared = profile.ics.iso7816.atr
    return [_compare("ATR", declared.hex().upper() if declared else None, atr)]


def _select_isd(card: CardSession, profile: Profile) -> None:
    if profile.ixit.gp is not None:
        card.select(profile.ixit.gp.isd, p2=0x00)


def probe_cplc(card: CardSession, profile: Profile) -> list[Finding]:
    card.reset()
    _select_isd(card, profile)
    data, why = _get_data(card, 0x9F, 0x7F)
    if data is None:
        return [Finding("CPLC (GET DATA 9F7F)", "not answered", "nothing (CPLC is not an ICS claim)", why)]
    value = _tlv_value(data, 0x9F7F)
    detail = "" if len(value) == 42 else f"{len(value)} bytes; CPLC is 42 bytes (OP 2.0.1 §6.12.1)"
    status = "observed" if not detail else "mismatch"
    declared = "nothing (CPLC is not an ICS claim; 42 bytes by format)"
    return [Finding("CPLC (GET DATA 9F7F)", status, declared, value.hex().upper(), detail)]


def parse_recognition(data: bytes) -> dict[str, str]:
    """GP version and SCP i parameters from card recognition data (GPCS Annex H.2)."""
    out: dict[str, str] = {}
    body = _tlv_value(data, 0x66)
    body = _tlv_value(body, 0x73)
    for item in decode(body):
        if item.tag in (0x60, 0x64):
            oids = decode(item.value)
            oid = oids[0].value if oids and oids[0].tag == 0x06 else b""
            if not oid.startswith(GP_OID):
                continue
            tail = oid[len(GP_OID) :]
            if item.tag == 0x60 and tail[:1] == b"\x02":
                out["gp_version"] = ".".join(str(b) for b in tail[1:])
            if item.tag == 0x64 and tail[:1] == b"\x04" and len(tail) >= 3:
                out[f"scp{tail[1]:02X}"] = f"{tail[2]:02X}"
    return out


def probe_recognition(card: CardSession, profile: Profile) -> list[Finding]:
    card.reset()
    _select_isd(card, profile)
    item = "card recognition data (GET DATA 66)"
    data, why = _get_data(card, 0x00, 0x66)
    if data is None:
        declared = "GP card recognition data" if profile.ics.gp else "nothing (the profile has no ics.gp)"
        return [Finding(item, "not answered", declared, why)]
    try:
        parsed = parse_recognition(data)
    except KitError as exc:
        return [Finding(item, "mismatch", "BER-TLV card recognition data", data.hex().upper(), str(exc))]
    gp = profile.ics.gp
    findings = [
        Finding("GlobalPlatform version (tag 60)", "observed", "nothing", parsed.get("gp_version", "none"))
    ]
    declared_scp03 = gp.scp03 if gp else None
    observed_i = parsed.get("scp03")
    if declared_scp03 is None:
        findings.append(
            Finding("SCP03 (tag 64)", "observed", "nothing", f"i={observed_i}" if observed_i else "none")
        )
    elif not declared_scp03:
        status = "match" if observed_i is None else "mismatch"
        findings.append(
            Finding("SCP03 (tag 64)", status, "no SCP03", f"i={observed_i}" if observed_i else "none")
        )
    else:
        declared_i = f"{gp.i:02X}" if gp and gp.i is not None else None
        observed = f"i={observed_i}" if observed_i else "no SCP03 in tag 64"
        findings.append(_compare("SCP03 i parameter (tag 64)", declared_i and f"i={declared_i}", observed))
    return findings


def probe_token_label(card: CardSession, profile: Profile) -> list[Finding]:
    card.reset()
    item = "token label (JPKI EF 0006)"
    declared = profile.ics.jpki.token_label
    r = card.select(profile.ixit.aids.jpki)
    if r.sw != 0x9000:
        return [Finding(item, "not answered", declared, f"SELECT of the JPKI-AP: SW {r.sw:04X}")]
    r = card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO)
    if r.sw != 0x9000:
        return [Finding(item, "not answered", declared, f"SELECT EF 0006: SW {r.sw:04X}")]
    r = card.read_binary(0, LABEL_LENGTH)
    if r.sw != 0x9000:
        return [Finding(item, "not answered", declared, f"READ BINARY: SW {r.sw:04X}")]
    # the label field of EF 0006 (jpkikit.vocab.jpki.layouts.TOKEN_INFO); fewer bytes raise ApduError
    return [_compare(item, declared, parse_token_label(r.data))]


def probe_ara_m(card: CardSession, profile: Profile) -> list[Finding]:
    card.reset()
    r = card.select(ARA_M_AID, p2=0x00)
    present = "present (SELECT 9000)" if r.sw == 0x9000 else f"absent (SELECT answered {r.sw:04X})"
    # Access rules (GPD SEAC) matter to a handset's Access Control Enforcer; the profile has no claim yet.
    return [Finding("ARA-M (A00000015141434C00)", "observed", "nothing", present)]


def _isd_keys(profile: Profile) -> Any:
    gp = profile.ixit.gp
    for ks in gp.keysets_of("isd") if gp else ():
        if ks.kvn != gp.exhaustion_kvn:  # type: ignore[union-attr]
            return profile.keys(ks)
    return None


def probe_scp03_levels(card: CardSession, profile: Profile) -> list[Finding]:
    from jpkikit.host.scp03 import Scp03Layer

    gp = profile.ics.gp
    keys = _isd_keys(profile) if gp and gp.scp03 else None
    if keys is None or gp is None or profile.ixit.gp is None:
        return []  # no keys given: nothing to probe with
    isd = profile.ixit.gp.isd
    opened, refused = [], []
    for level in LEVELS:
        card.reset()
        card.select(isd, p2=0x00)
        layer = Scp03Layer(card.tracer, keys, sd_aid=isd)
        try:
            layer.open(level)
            opened.append(f"{level:02X}")
        except KitError as exc:
            refused.append(f"{level:02X}: {exc}")
    declared = " ".join(sorted(f"{v:02X}" for v in gp.levels))
    detail = "; ".join(refused)
    finding = _compare("SCP03 security levels that open a session", declared, " ".join(opened))
    return [Finding(finding.item, finding.status, finding.declared, finding.observed, detail)]


PROBES: tuple[tuple[str, Callable[[CardSession, Profile], list[Finding]]], ...] = (
    ("ATR", probe_atr),
    ("CPLC (GET DATA 9F7F)", probe_cplc),
    ("card recognition data (GET DATA 66)", probe_recognition),
    ("token label (JPKI EF 0006)", probe_token_label),
    ("ARA-M (A00000015141434C00)", probe_ara_m),
    ("SCP03 security levels", probe_scp03_levels),
)


def run_probes(card: CardSession, profile: Profile) -> list[Finding]:
    findings: list[Finding] = []
    for name, probe in PROBES:
        try:
            findings.extend(probe(card, profile))
        except KitError as exc:  # the device stopped answering, answered garbage, ...
            findings.append(Finding(name, "not answered", "-", type(exc).__name__, str(exc)))
    return findings


def probe(profile: Profile) -> tuple[list[Finding], str]:
    """Open the profile's link, run every probe; returns the findings and the redacted APDU trace."""
    from jpkikit.harness.seam import open_link

    session = CardSession(open_link(profile))
    try:
        findings = run_probes(session, profile)
        trace = session.tracer.trace.to_json()
    finally:
        try:
            session.close()
        except KitError:
            pass
    return findings, trace


def to_json(findings: list[Finding], profile: Profile) -> str:
    doc = {
        "format": PROBE_FORMAT,
        "kit_version": __version__,
        "implementation": profile.identity(),
        "findings": [asdict(f) for f in findings],
    }
    return json.dumps(doc, indent=1) + "\n"


def save(findings: list[Finding], trace: str, profile: Profile, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "traces").mkdir(exist_ok=True)
    (out_dir / "traces" / "probe.json").write_text(trace, encoding="utf-8")
    path = out_dir / "probe.json"
    path.write_text(to_json(findings, profile), encoding="utf-8")
    return path
