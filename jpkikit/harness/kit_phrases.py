"""The kit's own words in the languages of the reports (``ja``, ``en``) that the harness writes too: why a
requirement applies or not, worded from its structure, and the fixed phrases around what a test, the
implementation or the transport said. Their one home: the harness uses them where it writes in the run's
language (the Allure results, jpkikit.harness.allure_results), the reports through jpkikit.report.i18n.

Why a requirement applies or not is worded from the class membership and the ICS facts of
``Condition.explain`` (:func:`applicability_text`), never by translating the English sentence. A test's
message is evidence: in Japanese it is quoted verbatim, labelled once as the original (原文). What the kit
(or pytest's junit report) wrote around it is worded in Japanese: the not-applicable and not-exercised
skips, the unreachable unit, the pre-flight that could not check the PINs, a set-up or tear-down that
broke, and an item of the unit state not read back at the end. Each is recognised by the exact constant
that wrote it, never by guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jpkikit.harness.conditions import Fact, reason_text, show
from jpkikit.harness.language import LANGS
from jpkikit.harness.safety import ALLOW_HINT, DESCRIPTION, REFUSED, SACRIFICIAL_HINT, Effect
from jpkikit.harness.verdict import NOT_APPLICABLE_PREFIX, NOT_EXERCISED_PREFIX

if TYPE_CHECKING:
    from jpkikit.harness.catalogue import Applicability

#: How a test that spends PIN tries is skipped (inconclusive) when the pre-flight could not check the PINs.
PREFLIGHT_PIN_SKIP = "the pre-flight could not check the profile's PINs, so no PIN try is spent: "
#: What the unit state records for an item the end of the run could not read back, before the error.
NOT_READ_BACK = "not read back: "
UNREADABLE_AT_END = "the unit could not be read at the end: "


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r}")
    return lang


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


def not_applicable_text(reasons: Sequence[tuple[str, Applicability]], lang: str) -> str:
    """The message of a test whose requirements do not apply (each requirement ID and why) in ``lang``:
    English as the plugin's skip says it (``NOT_APPLICABLE_PREFIX`` and ``ID: reason; ...``); Japanese
    worded from the structure of each reason (:func:`applicability_text`)."""
    if check_lang(lang) == "en":
        return NOT_APPLICABLE_PREFIX + "; ".join(f"{rid}: {applies.reason}" for rid, applies in reasons)
    return "対象外（ICS による）。" + "".join(f"{rid}：{applicability_text(a, lang)}" for rid, a in reasons)


# -- the kit's own words around a test's message ------------------------------------------------------------

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
_PHASES = {"setup": "準備処理（setup）", "teardown": "後処理（teardown）"}
_JUNIT_CUT = "; full report in element text]"  # the last line of a message attribute pytest shortened


def _original(text: str) -> str:
    return f"{ORIGINAL}：{text}"


def refusal_text(reason: str, lang: str) -> str:
    """Why this unit may not suffer a test (jpkikit.harness.safety.Policy.decide, without the "not
    exercised: " prefix) in ``lang``; a reason not in the policy's wording is quoted as the original."""
    if check_lang(lang) == "en":
        return reason
    what, sep, hint = reason.partition(REFUSED)
    by_text = {text: effect for effect, text in DESCRIPTION.items()}
    effects = [by_text.get(part) for part in what.split("; ")]
    if not sep or None in effects:
        return _original(reason)
    costs = "、".join(EFFECTS_JA[e] for e in effects if e is not None)
    add, to_allows = ALLOW_HINT
    if hint == SACRIFICIAL_HINT:
        advice = "同じモデルの消耗用の試験体（ixit.unit.sacrificial: true）で実施してください。"
    elif hint.startswith(add) and hint.endswith(to_allows):
        advice = f"実施するには ixit.unit.allows に {hint[len(add) : -len(to_allows)]} を加えてください。"
    else:
        return _original(reason)
    return f"この試験は試験体に次の影響を与えるため、この試験体では許可されていません：{costs}。{advice}"


def message_text(message: str, lang: str) -> str:
    """A test's message as the report shows it in ``lang``. English: unchanged. Japanese: the kit's own
    framing in Japanese, and what the test, the implementation or the transport said quoted verbatim once,
    labelled 原文."""
    if check_lang(lang) == "en" or not message:
        return message
    from jpkikit.harness.reachability import UNREACHABLE_PREFIX, UnitUnreachable  # (it reaches the host)

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
