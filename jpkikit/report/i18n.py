"""Every fixed text of the certification and campaign reports, in Japanese and English.

The reports' data (requirement IDs, verdict keys, claim names, status words, test messages) stays in the
kit's own stable English form, in the JSON too; only what a reader reads as prose comes from here. The
requirement titles and statements come from the catalogue (``Requirement.title_in`` / ``statement_in``).
Why a requirement applies or not is worded here from its structure (:func:`applicability_text`: the class
membership and the ICS facts of ``Condition.explain``), never by translating the English sentence; a test's
message is quoted verbatim, labelled once as the original (原文), inside the kit's own framing in the
report's language (:func:`message_text`).

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

from collections.abc import Sequence

from jpkikit.harness.catalogue import Applicability
from jpkikit.harness.conditions import Fact, reason_text, show
from jpkikit.harness.language import LANGS
from jpkikit.harness.safety import DESCRIPTION, Effect
from jpkikit.harness.verdict import NOT_APPLICABLE_PREFIX, NOT_EXERCISED_PREFIX

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


# -- applicability reasons, worded from their structure (jpkikit.harness.catalogue.Applicability) ----------
# English is the harness's own sentence (Applicability.reason, the ICS facts of Condition.explain); Japanese
# is worded here from the same facts, so no English sentence is translated after the fact.


def fact_text(fact: Fact, lang: str) -> str:
    """One deciding fact of an ``applies_if`` condition (Condition.explain) in ``lang``."""
    if check_lang(lang) == "en":
        return fact.text
    claim = fact.claim
    if claim.test == "present":
        return f"{claim.path} は{'申告されています' if fact.given else '申告されていません'}"
    value = (
        f"{claim.path} は申告されていません"
        if fact.actual is None
        else f"{claim.path} の申告値は {show(fact.actual)}"
    )
    if claim.test == "is":
        return value if fact.actual is None else f"{value} です"
    return f"{claim.text} は{'成り立ちます' if fact.holds else '成り立ちません'}（{value}）"


def facts_text(facts: Sequence[Fact], lang: str) -> str:
    """The reason of an evaluation in ``lang``: English as ``reason_text``; Japanese one sentence a fact."""
    if check_lang(lang) == "en":
        return reason_text(facts)
    return "".join(f"{fact_text(fact, lang)}。" for fact in facts)


def applicability_text(applies: Applicability, lang: str) -> str:
    """Why a requirement applies or not (class membership, then the ICS facts) in ``lang``; English is
    ``Applicability.reason`` unchanged."""
    if check_lang(lang) == "en" or not applies.implementation_class:
        return applies.reason  # (an Applicability made without its structure has only the English)
    cls, classes = applies.implementation_class, ", ".join(applies.classes)
    membership = f"実装クラス {cls!r} は要件の対象クラス（{classes}）"
    if not applies.member:
        return f"{membership}に含まれません。"
    if applies.applicable and applies.facts is None:
        return f"{membership}に含まれます。ICS による適用条件はありません。"
    why = facts_text(applies.facts or (), lang)
    return f"{membership}に含まれます。{why}" if applies.applicable else why


# -- the kit's own words around a test's message ------------------------------------------------------------
# A test's message is evidence: in a Japanese report it is quoted verbatim, labelled once as the original
# (原文). What the kit (or pytest's junit report) wrote around it is worded in Japanese: the not-applicable
# and not-exercised skips, the unreachable unit, the pre-flight that could not check the PINs, a set-up or
# tear-down that broke, and an item of the unit state not read back at the end. Each is recognised by the
# exact constant that wrote it, never by guessing.

ORIGINAL = "原文"

#: What a test costs the unit (jpkikit.harness.safety.DESCRIPTION), in Japanese.
EFFECTS_JA: dict[Effect, str] = {
    Effect.PIN_TRIES: "PIN の試行回数を消費する（正しい VERIFY で元に戻る）",
    Effect.PIN_CHANGE: "PIN を変更し、元に戻す",
    Effect.APPLET_LOCK: "アプリケーションをロックし、ロックを解除する",
    Effect.CONTENT: "キットの試験用パッケージをロード・インストールし、削除する",
    Effect.ACCESS_RULES: "ARA-M のアクセス規則を変更し、元に戻す",
    Effect.PIN_BLOCK: "PIN をブロックする",
    Effect.CARD_LOCK: "カードをロックする",
    Effect.TERMINATE: "カード又はアプリケーションを終了状態（TERMINATED）にする",
    Effect.IDENTITY_WRITE: "IIN、CIN 又はカードデータを書き込む",
    Effect.KEY_SETS: "SCP03 の鍵セットを置き換える",
    Effect.SCP_COUNTER: "SCP03 の鍵セットのシーケンスカウンタを使い切る",
    Effect.CREDENTIALS: "鍵ペアを生成し、証明書を書き込む又は削除する",
}
_REFUSED = ": this unit does not allow it; "  # jpkikit.harness.safety.Policy.decide
_ADD, _TO_ALLOWS = "add ", " to ixit.unit.allows"
_SACRIFICIAL_HINT = "run it on a sacrificial unit of the same model (ixit.unit.sacrificial: true)"
_PHASES = {"setup": "準備処理（setup）", "teardown": "後処理（teardown）"}
_JUNIT_CUT = "; full report in element text]"  # the last line of a message attribute pytest shortened


def _original(text: str) -> str:
    return f"{ORIGINAL}：{text}"


def refusal_text(reason: str, lang: str) -> str:
    """Why this unit may not suffer a test (jpkikit.harness.safety.Policy.decide, without the "not
    exercised: " prefix) in ``lang``; a reason not in the policy's wording is quoted as the original."""
    if check_lang(lang) == "en":
        return reason
    what, sep, hint = reason.partition(_REFUSED)
    by_text = {text: effect for effect, text in DESCRIPTION.items()}
    effects = [by_text.get(part) for part in what.split("; ")]
    if not sep or None in effects:
        return _original(reason)
    costs = "、".join(EFFECTS_JA[e] for e in effects if e is not None)
    if hint == _SACRIFICIAL_HINT:
        advice = "同じモデルの消耗用の試験体（ixit.unit.sacrificial: true）で実施してください。"
    elif hint.startswith(_ADD) and hint.endswith(_TO_ALLOWS):
        advice = f"実施するには ixit.unit.allows に {hint[len(_ADD) : -len(_TO_ALLOWS)]} を加えてください。"
    else:
        return _original(reason)
    return f"この試験は試験体に次の影響を与えるため、この試験体では許可されていません：{costs}。{advice}"


def message_text(message: str, lang: str) -> str:
    """A test's message as the report shows it in ``lang``. English: unchanged. Japanese: the kit's own
    framing in Japanese, and what the test, the implementation or the transport said quoted verbatim once,
    labelled 原文."""
    if check_lang(lang) == "en" or not message:
        return message
    from jpkikit.harness.plugin import NOT_READ_BACK, PREFLIGHT_PIN_SKIP, UNREADABLE_AT_END
    from jpkikit.harness.reachability import UNREACHABLE_PREFIX, UnitUnreachable

    body, newline, last = message.rpartition("\n")
    if newline and last.startswith("[") and last.endswith(_JUNIT_CUT):  # pytest shortened the message
        return f"{message_text(body, lang)}（以下省略。全文は junit.xml の要素のテキストにあります）"
    for phase, words in _PHASES.items():  # pytest's junit report: failed on setup with "<message>"
        opening = f'failed on {phase} with "'
        if message.startswith(opening):
            inner = message_text(message[len(opening) :].removesuffix('"'), lang)
            return f"試験の{words}で中断しました。{inner}"
    if message.startswith(NOT_APPLICABLE_PREFIX):
        return f"対象外（ICS による）。理由（{ORIGINAL}）：{message[len(NOT_APPLICABLE_PREFIX) :]}"
    if message.startswith(NOT_EXERCISED_PREFIX):
        return refusal_text(message[len(NOT_EXERCISED_PREFIX) :], lang)
    if message.startswith(PREFLIGHT_PIN_SKIP):
        rest = message[len(PREFLIGHT_PIN_SKIP) :]
        return (
            "事前確認（pre-flight）でプロファイルの PIN を確認できなかったため、PIN の試行回数を消費する"
            "試験は行いません。"
            f"{_original(rest)}"
        )
    if message.startswith(NOT_READ_BACK):  # an item of the unit state the end of the run could not read
        return f"読み戻せませんでした。{message_text(message[len(NOT_READ_BACK) :], lang)}"
    if message.startswith(UNREADABLE_AT_END):
        error = message_text(message[len(UNREADABLE_AT_END) :], lang)
        return f"試験終了時に試験体を読み出せませんでした。{error}"
    unreachable = f"{UnitUnreachable.__name__}: {UNREACHABLE_PREFIX}"
    for opening in (unreachable, UNREACHABLE_PREFIX):
        if message.startswith(opening):
            since, sep, error = message[len(opening) :].partition(": ")
            last = f"最後のエラー（{ORIGINAL}）：{error}" if sep and error else ""
            return (
                f"試験体は {since} 以降応答せず、再接続にも応答しなかったため、試験体に到達できませんでした。"
                f"{last}"
            )
    return _original(message)


def state_value_text(value: object, lang: str) -> str:
    """A value of the unit-state table in ``lang``: what the unit read back as it was; the kit's note of an
    item it could not read back at the end in the language, its error quoted as the original."""
    from jpkikit.harness.plugin import NOT_READ_BACK, UNREADABLE_AT_END

    text = str(value)
    if check_lang(lang) != "en" and text.startswith((NOT_READ_BACK, UNREADABLE_AT_END)):
        return message_text(text, lang)
    return text
