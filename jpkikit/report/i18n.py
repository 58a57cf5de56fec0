"""Every fixed text of the certification and campaign reports, in Japanese and English.

The reports' data (requirement IDs, verdict keys, claim names, status words, test messages) stays in the
kit's own stable English form, in the JSON too; only what a reader reads as prose comes from here. The
requirement titles and statements come from the catalogue (``Requirement.title_in`` / ``statement_in``).
Why a requirement applies or not is worded from its structure (:func:`applicability_text`: the class
membership and the ICS facts of ``Condition.explain``), never by translating the English sentence; a test's
message is quoted verbatim, labelled once as the original (原文), inside the kit's own framing in the
report's language (:func:`message_text`). Those two have their one home in the harness
(jpkikit.harness.kit_phrases), because the Allure results of a run are worded the same way. The names of
the unit-state items are worded per pattern of jpkikit.harness.unit_state (:func:`state_item_text`).

Japanese verdict names (docs/certification.md, "Reports and languages")::

    pass            合格          the requirement is met
    fail            不合格        the implementation contradicts the requirement
    inconclusive    判定不能      the test could not decide (no answer, a precondition not met)
    not exercised   未実施        this unit may not suffer what the test costs (a sacrificial unit runs it)
    not applicable  対象外        the ICS does not claim what the requirement is about
    kit error       キット不具合  the kit itself broke; says nothing about the implementation
    untested        未試験        applicable, but no test ran
    waived          免除          no test ran; the catalogue's waiver applies
"""

from __future__ import annotations

from jpkikit.harness import unit_state
from jpkikit.harness.kit_phrases import EFFECTS_JA as EFFECTS_JA
from jpkikit.harness.kit_phrases import NOT_READ_BACK, UNREADABLE_AT_END, check_lang, message_text
from jpkikit.harness.kit_phrases import ORIGINAL as ORIGINAL
from jpkikit.harness.kit_phrases import applicability_text as applicability_text
from jpkikit.harness.kit_phrases import fact_text as fact_text
from jpkikit.harness.kit_phrases import facts_text as facts_text
from jpkikit.harness.kit_phrases import refusal_text as refusal_text

VERDICTS: dict[str, dict[str, str]] = {
    "pass": {"en": "pass", "ja": "合格"},
    "fail": {"en": "fail", "ja": "不合格"},
    "inconclusive": {"en": "inconclusive", "ja": "判定不能"},
    "not exercised": {"en": "not exercised", "ja": "未実施"},
    "not applicable": {"en": "not applicable", "ja": "対象外"},
    "kit error": {"en": "kit error", "ja": "キット不具合"},
    "untested": {"en": "untested", "ja": "未試験"},
    "waived": {"en": "waived", "ja": "免除"},
}
#: The certification verdicts (jpkikit.report.verdicts.Certification).
CERTIFICATIONS: dict[str, dict[str, str]] = {
    "PASS": {"en": "PASS", "ja": "合格"},
    "FAIL": {"en": "FAIL", "ja": "不合格"},
    "INCONCLUSIVE": {"en": "INCONCLUSIVE", "ja": "判定不能"},
    "INCOMPLETE": {"en": "INCOMPLETE", "ja": "未完了"},
    "KIT ERROR": {"en": "KIT ERROR", "ja": "キット不具合"},
}

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"en": "Conformance test report", "ja": "適合性試験報告書"},
    "campaign_title": {"en": "Conformance test report (campaign)", "ja": "適合性試験報告書（キャンペーン）"},
    "certification_verdict": {"en": "Certification verdict", "ja": "総合判定"},
    "s_identification": {"en": "1. Identification", "ja": "1. 試験対象の識別"},
    "s_claims": {
        "en": "2. Implementation conformance statement (claims)",
        "ja": "2. 実装適合性宣言（ICS・申告内容）",
    },
    "s_verdicts": {"en": "3. Verdicts per requirement", "ja": "3. 要件ごとの判定"},
    "s_charts": {"en": "Results per area", "ja": "領域ごとの結果"},
    "s_matrix": {"en": "Requirements × units", "ja": "要件 × 試験体"},
    "s_deviations": {"en": "4. Deviations", "ja": "4. 逸脱事項"},
    "s_probe": {
        "en": "5. Declared versus observed (jpkikit probe)",
        "ja": "5. 申告値と実測値の比較（jpkikit probe）",
    },
    "s_observations": {"en": "6. Observations", "ja": "6. 所見"},
    "s_unit_state": {"en": "7. The unit as found and as left", "ja": "7. 試験前後の試験体の状態"},
    "implementation": {"en": "Implementation", "ja": "実装"},
    "vendor": {"en": "Vendor", "ja": "ベンダー"},
    "class": {"en": "Class", "ja": "クラス"},
    "profile": {"en": "Profile", "ja": "プロファイル"},
    "test_kit": {"en": "Test kit", "ja": "試験キット"},
    "results": {"en": "Results", "ja": "試験結果"},
    "generated": {"en": "Generated", "ja": "作成日時"},
    "language": {"en": "Language", "ja": "言語"},
    "bundle": {"en": "Evidence bundle (bundle ID, sha256)", "ja": "証跡バンドル（バンドルID・sha256）"},
    "signer": {"en": "Signer's key fingerprint (sha256)", "ja": "署名鍵のフィンガープリント（sha256）"},
    "bundle_note": {
        "en": "verified against the lab's public key before this report was made",
        "ja": "本報告書の作成前に試験所の公開鍵で検証済み",
    },
    "claim": {"en": "Claim", "ja": "申告項目"},
    "value": {"en": "Value", "ja": "値"},
    "requirement": {"en": "Requirement", "ja": "要件"},
    "title_col": {"en": "Title", "ja": "表題"},
    "verdict": {"en": "Verdict", "ja": "判定"},
    "tests": {"en": "Tests", "ja": "試験"},
    "applicability": {"en": "Applicability", "ja": "適用条件"},
    "area": {"en": "Area", "ja": "領域"},
    "combined": {"en": "Combined", "ja": "総合"},
    "unit": {"en": "Unit", "ja": "試験体"},
    "sacrificial": {"en": "sacrificial", "ja": "消耗用"},
    "ordinary": {"en": "ordinary", "ja": "通常"},
    "none": {"en": "None.", "ja": "なし。"},
    "yes": {"en": "yes", "ja": "はい"},
    "no": {"en": "no", "ja": "いいえ"},
    "total": {"en": "total", "ja": "合計"},
    "decisive": {
        "en": "Decisive APDU exchange (last {n} of {file}, redacted)",
        "ja": "判定の決め手となった APDU 交換（{file} の最後の {n} 件、秘匿処理済み）",
    },
    "no_trace": {
        "en": "No APDU trace was recorded for this test.",
        "ja": "この試験の APDU トレースはありません。",
    },
    "waiver_available": {"en": "waiver available at acceptance", "ja": "受入時に適用できる免除事由"},
    "not_probed": {
        "en": "Not probed (run jpkikit probe --results RESULTS_DIR).",
        "ja": "未調査（jpkikit probe --results RESULTS_DIR を実行してください）。",
    },
    "item": {"en": "Item", "ja": "項目"},
    "status": {"en": "Status", "ja": "状態"},
    "declared": {"en": "Declared", "ja": "申告値"},
    "observed": {"en": "Observed", "ja": "実測値"},
    "detail": {"en": "Detail", "ja": "詳細"},
    "at_start": {"en": "At the start", "ja": "試験開始時"},
    "at_end": {"en": "At the end", "ja": "試験終了時"},
    "not_read_back": {
        "en": "Not read back (the run did not reach the unit over APDUs).",
        "ja": "読み戻していません（この実行は APDU で試験体に到達しませんでした）。",
    },
    "left_as_found": {
        "en": "Left as found: the {n} items read back at the start read the same.",
        "ja": "試験前の状態のまま：開始時に読み出した {n} 項目はすべて同じ値でした。",
    },
    "not_left_as_found": {"en": "Not left as found:", "ja": "試験前の状態に戻っていません："},
    "unit_of": {"en": "Unit of {results} ({kind})", "ja": "{results} の試験体（{kind}）"},
    "kind_waived": {"en": "waived", "ja": "免除"},
    "kind_not_exercised": {"en": "not exercised", "ja": "未実施"},
    "no_test_waiver": {
        "en": "no test ran; waiver: {waiver}",
        "ja": "試験は実施されていません。免除事由：{waiver}",
    },
    "page": {"en": "page", "ja": "ページ"},
    # the rule of the certification verdict (jpkikit.report.verdicts.certification), per verdict
    "rule_KIT ERROR": {"en": "kit error on {ids}", "ja": "キット不具合：{ids}"},
    "rule_FAIL": {"en": "failed: {ids}", "ja": "不合格の要件：{ids}"},
    "rule_INCONCLUSIVE": {"en": "inconclusive: {ids}", "ja": "判定不能の要件：{ids}"},
    "rule_INCOMPLETE": {
        "en": "applicable but untested and not waived: {ids}",
        "ja": "適用されるが未試験で免除もない要件：{ids}",
    },
    "rule_PASS": {
        "en": "{passed} applicable requirements passed, {waived} waived without a test",
        "ja": "適用される要件のうち {passed} 件が合格、{waived} 件が試験なしで免除",
    },
    "rule_left": {
        "en": "; {n} left for another unit (not exercised here): {ids}",
        "ja": "。{n} 件は他の試験体で実施（この試験体では未実施）：{ids}",
    },
    "lang_name": {"en": "English", "ja": "日本語"},
    "counts": {"en": "Requirements by verdict", "ja": "判定別の要件数"},
    "statement": {"en": "Requirement", "ja": "要件の内容"},
    "matrix_note": {
        "en": "The verdict of each requirement on each unit, and the campaign's combined verdict "
        "(a test not exercised on one unit counts as the unit that exercised it found).",
        "ja": "試験体ごとの各要件の判定と、キャンペーン全体の総合判定（ある試験体で未実施の試験は、"
        "それを実施した試験体の結果で判定します）。",
    },
    # the ICS tables
    "general": {"en": "General", "ja": "全般"},
    "aid": {"en": "AID", "ja": "AID"},
    "hash": {"en": "Certificate hash", "ja": "証明書ハッシュ"},
    "apdu_access": {"en": "APDU access", "ja": "APDU アクセス"},
    "filters": {"en": "APDU filters", "ja": "APDU フィルタ"},
    "nfc": {"en": "NFC", "ja": "NFC"},
    "pkg": {"en": "Package", "ja": "パッケージ"},
    "perm": {"en": "Permissions", "ja": "権限"},
    "apdu_always": {"en": "always", "ja": "常に許可"},
    "apdu_never": {"en": "never", "ja": "拒否"},
    "apdu_filtered": {"en": "filtered", "ja": "フィルタで許可"},
    "nfc_allowed": {"en": "allowed", "ja": "許可"},
    "nfc_denied": {"en": "denied", "ja": "拒否"},
    "any_app": {"en": "any (every device application)", "ja": "すべて（全アプリ）"},
    "rules_of": {"en": "Access rules: {claim}", "ja": "アクセス規則：{claim}"},
    "table_of": {"en": "{claim}", "ja": "{claim}"},
    "chart_label": {"en": "{area}: {n} requirements", "ja": "{area}：要件 {n} 件"},
    # the Allure report (jpkikit.report.allure.allure_config)
    "allure_name": {"en": "jpkikit certification: {name}", "ja": "jpkikit 適合性試験：{name}"},
    "allure_unknown_implementation": {"en": "unknown implementation", "ja": "不明な実装"},
}


def t(key: str, lang: str, **values: object) -> str:
    """The fixed text ``key`` in ``lang``, with ``{name}`` fields filled in."""
    text = MESSAGES[key][check_lang(lang)]
    return text.format(**values) if values else text


def verdict_name(verdict: str, lang: str) -> str:
    """A requirement or test verdict (``fail``, ``not exercised``, ...) as the reader reads it."""
    names = VERDICTS.get(verdict)
    return names[check_lang(lang)] if names else verdict


def certification_name(verdict: str, lang: str) -> str:
    names = CERTIFICATIONS.get(verdict)
    return names[check_lang(lang)] if names else verdict


def yes_no(value: bool, lang: str) -> str:
    return t("yes" if value else "no", lang)


# -- applicability reasons, worded from their structure: their one home is in the harness too
# (jpkikit.harness.kit_phrases: applicability_text, facts_text, fact_text, imported above), because the
# Allure results of a run word a test's not-applicable message the same way


# -- the kit's own words around a test's message: their one home is in the harness
# (jpkikit.harness.kit_phrases: message_text, refusal_text, EFFECTS_JA, ORIGINAL, imported above), because
# the Allure results of a run use them too


# -- the unit as found and as left (jpkikit.harness.unit_state): the names of the items and the kit's words
# among the values, worded per pattern of the names unit_state makes; a field keeps its value (hex, EF
# numbers, IIN/CIN/CPLC) unless the kit wrote it in words; a name unit_state does not make is shown as it is

#: Every item name pattern (jpkikit.harness.unit_state.ITEM_PATTERNS) in Japanese.
STATE_ITEMS_JA: dict[str, str] = {
    unit_state.ITEM_ATR: "ATR",
    unit_state.ITEM_GP_DATA: "GP データ {data}（GET DATA {tag}）",
    unit_state.ITEM_GP_REGISTRY: "GP レジストリ（{scope}）",
    unit_state.ITEM_JPKI_APPLICATION: "JPKI アプリケーション",
    unit_state.ITEM_PIN_TRIES: "JPKI {pin} PIN の残り試行回数",
    unit_state.ITEM_TOKEN_LABEL: "JPKI トークンラベル",
    unit_state.ITEM_EF: "JPKI EF {fid} の内容",
    unit_state.ITEM_ARAM_RULES: "ARA-M のアクセス規則",
    unit_state.ITEM_UNIT_UNREADABLE: "試験体の読み出し",
    unit_state.ITEM_PART_UNREADABLE: "{part} の読み出し",
}
#: The fields of the item names the kit writes in words, in Japanese (the others are kept as they are).
STATE_FIELDS_JA: dict[str, dict[str, str]] = {
    "data": {unit_state.GP_DATA[0x66]: "カード認識データ"},  # IIN, CIN and CPLC stay
    "scope": {
        unit_state.REGISTRY_ISD: "ISD",
        unit_state.REGISTRY_APPLICATIONS: "アプリケーションとセキュリティドメイン",
    },
    "pin": {"auth": "利用者証明用", "sign": "署名用"},  # jpkikit.vocab.jpki.card.PAIRS
    "part": {unit_state.PART_GP: "GP", unit_state.PART_JPKI: "JPKI", unit_state.PART_ARAM: "ARA-M"},
}
#: The kit's words among the values of the unit state, in Japanese.
STATE_VALUES_JA: dict[str, str] = {
    unit_state.ABSENT: "（なし）",
    unit_state.NOT_SELECTABLE: "選択できません",
    unit_state.UNREADABLE: "読み出せません",
    unit_state.DIGEST: "{length} バイト、sha256 {sha256}",
}


def state_item_text(item: object, lang: str) -> str:
    """The name of an item of the unit state (jpkikit.harness.unit_state) in ``lang``: English as recorded;
    Japanese worded from its pattern; a name of no pattern as it is."""
    text = str(item)
    found = unit_state.fields_of(text) if check_lang(lang) != "en" else None
    if found is None:
        return text
    pattern, fields = found
    words = {name: STATE_FIELDS_JA.get(name, {}).get(value, value) for name, value in fields.items()}
    return STATE_ITEMS_JA[pattern].format(**words)


def state_value_text(value: object, lang: str) -> str:
    """A value of the unit-state table in ``lang``: what the unit read back as it was; the kit's own words
    (absent, unreadable, a digest, an item not read back at the end) in the language, an error quoted as
    the original."""
    text = str(value)
    if check_lang(lang) == "en":
        return text
    if text.startswith((NOT_READ_BACK, UNREADABLE_AT_END)):
        return message_text(text, lang)
    if text.startswith(unit_state.UNREADABLE_PREFIX):
        error = text[len(unit_state.UNREADABLE_PREFIX) :]
        return f"{STATE_VALUES_JA[unit_state.UNREADABLE]}。{message_text(error, lang)}"
    found = unit_state.fields_of(text, unit_state.VALUE_PATTERNS)
    if found is not None:
        return STATE_VALUES_JA[found[0]].format(**found[1])
    return STATE_VALUES_JA.get(text, text)
