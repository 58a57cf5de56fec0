"""The unit as found and as left in a Japanese report: the names of the items (made from the patterns of
jpkikit.harness.unit_state, worded per pattern by jpkikit.report.i18n) and the kit's own words among their
values are Japanese; hex, AIDs, EF numbers, IIN/CIN/CPLC and what the unit answered are kept; a name of no
pattern is shown as it is. The English report is as it was, row for row."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from jpkikit.harness import unit_state
from jpkikit.harness.kit_phrases import NOT_READ_BACK, UNREADABLE_AT_END
from jpkikit.harness.profile import load_profile
from jpkikit.harness.seam import open_link
from jpkikit.host.card_session import CardSession
from jpkikit.report.certreport import build_report, write_reports
from jpkikit.report.i18n import (
    ORIGINAL,
    STATE_FIELDS_JA,
    STATE_ITEMS_JA,
    STATE_VALUES_JA,
    state_item_text,
    state_value_text,
)

from .conformance_runner import REPO
from .test_report_lang import make_results
from .test_report_lang_reasons import JAPANESE

PROFILE = REPO / "profiles" / "emulator-gpse.yaml"
#: The English words of the item names and of the kit's values, which a Japanese table must not show.
ENGLISH = re.compile(
    r"GP registry|tries left|token label|JPKI application|ARA-M rules|card recognition|applications and"
    r"|read back|\bbytes\b|\babsent\b|not selectable|unreadable"
)
#: What each pattern's Japanese name keeps of the English one (the data of its fields).
KEPT = {
    "GP GET DATA 42 (IIN)": ("42", "IIN"),
    "GP GET DATA 9F7F (CPLC)": ("9F7F", "CPLC"),
    "JPKI EF 000A": ("000A",),
}


@pytest.fixture(scope="module")
def found() -> dict[str, str]:
    """The emulated GP-SE's state as unit_state reads it (every item name it makes for this profile)."""
    profile = load_profile(PROFILE)
    with open_link(profile) as link:
        return unit_state.take(CardSession(link), profile)


def _left(found: dict[str, str]) -> dict[str, str]:
    """The unit as left by a run that changed every item: tries spent, content rewritten, an application
    gone, a part that broke off on reading, one item not read at all."""
    after: dict[str, str] = {}
    for item, value in found.items():
        if item.endswith("tries left"):
            after[item] = str(int(value) - 1)
        elif value.endswith(tuple("0123456789abcdef")) and "sha256" in value:
            after[item] = unit_state.DIGEST.format(length=12, sha256="00112233aabbccdd")
        else:
            after[item] = value + "00"
    after[unit_state.ITEM_JPKI_APPLICATION] = unit_state.NOT_SELECTABLE
    after[unit_state.ITEM_PART_UNREADABLE.format(part=unit_state.PART_ARAM)] = (
        f"{unit_state.UNREADABLE_PREFIX}MalformedAnswer: ARA-M answered 6F00"
    )
    after[unit_state.ITEM_TOKEN_LABEL] = unit_state.UNREADABLE
    del after[unit_state.ITEM_EF.format(fid="0008")]
    after["some item of a later kit"] = "x"
    return after


@pytest.fixture(scope="module")
def reports(found: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    results = make_results(tmp_path_factory.mktemp("state") / "r")
    doc = unit_state.as_json(found, _left(found))
    (results / unit_state.UNIT_STATE_FILE).write_text(json.dumps(doc, indent=1))
    out: dict[str, Any] = {"doc": doc}
    for lang in ("ja", "en"):
        where = tmp_path_factory.mktemp(f"state-{lang}")
        write_reports(build_report(results, lang=lang), where, formats=("md", "html"))
        out[lang] = {f: (where / f"certification.{f}").read_text(encoding="utf-8") for f in ("md", "html")}
    return out


def _state_rows(md: str) -> list[list[str]]:
    """The rows of the unit-state table (the last section) of a Markdown report."""
    section = md[md.rindex("\n## ") :]
    return [
        [c.strip() for c in line.strip().strip("|").split(" | ")]
        for line in section.splitlines()
        if line.startswith("| ") and line.count(" | ") == 2
    ][1:]  # the heading row


def test_every_pattern_and_value_of_the_kit_has_its_japanese_words() -> None:
    assert set(STATE_ITEMS_JA) == set(unit_state.ITEM_PATTERNS)
    for pattern, japanese in STATE_ITEMS_JA.items():  # the same fields, the English words gone
        fields = set(re.findall(r"\{(\w+)\}", pattern))
        assert set(re.findall(r"\{(\w+)\}", japanese)) == fields, pattern
        assert not ENGLISH.search(japanese), japanese
    assert set(STATE_FIELDS_JA["scope"]) == {unit_state.REGISTRY_ISD, unit_state.REGISTRY_APPLICATIONS}
    assert set(STATE_FIELDS_JA["part"]) == {unit_state.PART_GP, unit_state.PART_JPKI, unit_state.PART_ARAM}
    assert all(w.isupper() for w in set(unit_state.GP_DATA.values()) - set(STATE_FIELDS_JA["data"]))
    kit_values = {unit_state.ABSENT, unit_state.NOT_SELECTABLE, unit_state.UNREADABLE, unit_state.DIGEST}
    assert set(STATE_VALUES_JA) == kit_values


def test_the_names_unit_state_makes_are_its_patterns(found: dict[str, str]) -> None:
    assert len(found) >= 15  # ATR, GP data and registry, the PINs, the label, the EFs, the ARA-M rules
    for item in found:
        pattern, fields = unit_state.fields_of(item) or (None, {})
        assert pattern is not None, item
        assert pattern.format(**fields) == item
    assert unit_state.fields_of("some item of a later kit") is None
    assert unit_state.fields_of(unit_state.ITEM_UNIT_UNREADABLE) == (unit_state.ITEM_UNIT_UNREADABLE, {})
    assert unit_state.fields_of("gp (read back)") == (unit_state.ITEM_PART_UNREADABLE, {"part": "gp"})


def test_item_names_in_japanese() -> None:
    assert state_item_text("GP GET DATA 42 (IIN)", "ja") == "GP データ IIN（GET DATA 42）"
    assert (
        state_item_text("GP GET DATA 66 (card recognition data)", "ja")
        == "GP データ カード認識データ（GET DATA 66）"
    )
    assert state_item_text("GP registry (ISD)", "ja") == "GP レジストリ（ISD）"
    assert (
        state_item_text("GP registry (applications and SDs)", "ja")
        == "GP レジストリ（アプリケーションとセキュリティドメイン）"
    )
    assert state_item_text("JPKI auth PIN tries left", "ja") == "JPKI 利用者証明用 PIN の残り試行回数"
    assert state_item_text("JPKI sign PIN tries left", "ja") == "JPKI 署名用 PIN の残り試行回数"
    assert state_item_text("JPKI token label", "ja") == "JPKI トークンラベル"
    assert state_item_text("JPKI EF 0001", "ja") == "JPKI EF 0001 の内容"
    assert state_item_text("ARA-M rules", "ja") == "ARA-M のアクセス規則"
    assert state_item_text("JPKI application", "ja") == "JPKI アプリケーション"
    assert state_item_text("jpki (read back)", "ja") == "JPKI の読み出し"
    assert state_item_text("(read back)", "ja") == "試験体の読み出し"
    assert state_item_text("ATR", "ja") == "ATR"
    assert state_item_text("some item of a later kit", "ja") == "some item of a later kit"
    for item in ("GP registry (ISD)", "JPKI auth PIN tries left", "(read back)", "x"):
        assert state_item_text(item, "en") == item


def test_the_kits_values_in_japanese() -> None:
    assert state_value_text("12 bytes, sha256 00112233aabbccdd", "ja") == "12 バイト、sha256 00112233aabbccdd"
    assert state_value_text("absent", "ja") == "（なし）"
    assert state_value_text("not selectable", "ja") == "選択できません"
    assert state_value_text("unreadable", "ja") == "読み出せません"
    assert (
        state_value_text("unreadable: MalformedAnswer: x", "ja")
        == f"読み出せません。{ORIGINAL}：MalformedAnswer: x"
    )
    assert state_value_text(f"{UNREADABLE_AT_END}no reader", "ja").startswith("試験終了時に試験体を")
    assert state_value_text(f"{NOT_READ_BACK}gone", "ja").startswith("読み戻せませんでした。")
    for unit_said in ("3", "SW 6A82", "SELECT SW 6A82", "A000000151000000:0F", "JPKIAPGPSETOKEN"):
        assert state_value_text(unit_said, "ja") == unit_said  # what the unit answered, as it was
    assert state_value_text("absent", "en") == "absent"


def test_a_japanese_report_of_a_unit_not_left_as_found(reports: dict[str, Any]) -> None:
    differences = reports["doc"]["differences"]
    assert len(differences) >= 18
    rows = _state_rows(reports["ja"]["md"])
    assert len(rows) == len(differences)
    assert "試験前の状態に戻っていません" in reports["ja"]["md"]
    for (item, before, after), d in zip(rows, differences, strict=True):
        if d["item"] == "some item of a later kit":
            assert item == d["item"]  # a name of no pattern: as it is
            continue
        assert JAPANESE.search(item) or item == "ATR", item
        assert not ENGLISH.search(f"{item} {before} {after}"), (item, before, after)
        for kept in KEPT.get(d["item"], ()):
            assert kept in item
    by_item = {d["item"]: row for d, row in zip(differences, rows, strict=True)}
    assert by_item["JPKI auth PIN tries left"] == ["JPKI 利用者証明用 PIN の残り試行回数", "3", "2"]
    assert by_item["JPKI EF 0008"][2] == "（なし）"
    assert by_item["aram (read back)"][1:] == [
        "（なし）",
        f"読み出せません。{ORIGINAL}：MalformedAnswer: ARA-M answered 6F00",
    ]
    html = reports["ja"]["html"]
    assert "<td>JPKI 利用者証明用 PIN の残り試行回数</td><td>3</td><td>2</td>" in html
    assert "<td>GP レジストリ（ISD）</td>" in html and "GP registry" not in html


def test_the_english_report_shows_the_state_as_before(reports: dict[str, Any]) -> None:
    md, html = reports["en"]["md"], reports["en"]["html"]
    assert not JAPANESE.search(md[md.rindex("\n## ") :])
    rows = _state_rows(md)
    differences = reports["doc"]["differences"]
    # the rows as the report wrote them before the names were worded: the recorded strings, unchanged
    assert rows == [[d["item"], d["before"], d["after"]] for d in differences]
    assert "**Not left as found:**" in md
    for d in differences:
        assert f"<tr><td>{d['item']}</td><td>{d['before']}</td><td>{d['after']}</td></tr>" in html
