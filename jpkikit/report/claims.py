"""The ICS claims of a profile as tables a reviewer reads: one table per area of claims (``ics.iso7816``,
``ics.jpki``, ...) with nested mappings as dotted rows (``auth_pin.min_length``) and lists joined, and every
list of records as a table of its own. Access rules (``ics.aram.rules``, ``ics.sim.arf_rules``: records with
an AID and an APDU access rule, GPD_SPE_013 §3) get a rule table: AID, certificate hash, APDU access, APDU
filters, NFC.

The result is plain data (lists of strings), rendered by jpkikit.report.certreport as Markdown or HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jpkikit.report.i18n import t, yes_no

DASH = "—"


@dataclass
class ClaimTable:
    claim: str  # the dotted claim, e.g. ics.aram.rules
    caption: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class ClaimSection:
    area: str  # ics.<area>, or ics for the top-level claims
    rows: list[tuple[str, str]] = field(default_factory=list)  # (claim relative to the area, value)
    tables: list[ClaimTable] = field(default_factory=list)


def value_text(value: Any, lang: str) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return yes_no(value, lang)
    if isinstance(value, list):
        return ", ".join(value_text(v, lang) for v in value) if value else DASH
    if isinstance(value, dict):
        return "; ".join(f"{k}: {value_text(v, lang)}" for k, v in value.items()) or DASH
    return str(value)


def _is_rule(record: dict[str, Any]) -> bool:
    return "aid" in record and "apdu" in record


def rule_table(claim: str, rules: list[dict[str, Any]], lang: str) -> ClaimTable:
    extra = [k for k in ("pkg", "perm") if any(k in r for r in rules)]
    columns = [t(k, lang) for k in ("aid", "hash", "apdu_access", "filters", "nfc", *extra)]
    rows = []
    for rule in rules:
        apdu = rule.get("apdu")
        if isinstance(apdu, list):
            access, filters = t("apdu_filtered", lang), "\n".join(str(f) for f in apdu)
        elif apdu in ("always", "never"):
            access, filters = t(f"apdu_{apdu}", lang), DASH
        else:
            access, filters = value_text(apdu, lang), DASH
        nfc = rule.get("nfc")
        nfc_text = DASH if nfc is None else t("nfc_allowed" if nfc else "nfc_denied", lang)
        row = [
            str(rule.get("aid") or DASH),
            str(rule.get("hash") or t("any_app", lang)),
            access,
            filters,
            nfc_text,
            *(value_text(rule.get(k), lang) for k in extra),
        ]
        rows.append(row)
    return ClaimTable(claim, t("rules_of", lang, claim=claim), columns, rows)


def record_table(claim: str, records: list[dict[str, Any]], lang: str) -> ClaimTable:
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    rows = [[value_text(r.get(k), lang) for k in columns] for r in records]
    return ClaimTable(claim, t("table_of", lang, claim=claim), columns, rows)


def _flatten(section: ClaimSection, value: Any, key: str, lang: str) -> None:
    if isinstance(value, dict) and value:
        for sub, item in value.items():
            _flatten(section, item, f"{key}.{sub}" if key else sub, lang)
        return
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        claim = f"{section.area}.{key}"
        maker = rule_table if all(_is_rule(v) for v in value) else record_table
        section.tables.append(maker(claim, value, lang))
        return
    section.rows.append((key, value_text(value, lang)))


def claim_sections(claims: dict[str, Any], lang: str) -> list[ClaimSection]:
    """The ICS (``Profile.redacted()["ics"]``) as one section per area; top-level scalars first."""
    general = ClaimSection("ics")
    sections = [general]
    for key, value in claims.items():
        if isinstance(value, dict):
            section = ClaimSection(f"ics.{key}")
            _flatten(section, value, "", lang)
            sections.append(section)
        else:
            _flatten(general, value, key, lang)
    return [s for s in sections if s.rows or s.tables]
