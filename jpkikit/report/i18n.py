"""Every fixed text of the certification and campaign reports, in Japanese and English.

The reports' data (requirement IDs, verdict keys, claim names, status words, test messages) stays in the
kit's own stable English form, in the JSON too; only what a reader reads as prose comes from here. The
requirement titles and statements come from the catalogue (``Requirement.title_in`` / ``statement_in``).

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

from jpkikit.harness.language import LANGS

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
        "en": "; {n} left for a sacrificial unit (not exercised here): {ids}",
        "ja": "。{n} 件は消耗用の試験体で実施（この試験体では未実施）：{ids}",
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
}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r}")
    return lang


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
