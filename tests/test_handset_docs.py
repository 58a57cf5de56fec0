"""The Android behaviour table (jpkikit.vocab.omapi.android.BEHAVIOURS, docs/android-behaviours.md): current,
and tied to requirements that exist; the handset agent protocol page names every method of the protocol."""

from __future__ import annotations

from pathlib import Path

from jpkikit.harness.catalogue import load_catalogue
from jpkikit.vocab.omapi import agent_protocol as protocol
from jpkikit.vocab.omapi.android import BEHAVIOURS, RELEASES, render_table

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_published_table_is_current() -> None:
    published = (DOCS / "android-behaviours.md").read_text(encoding="utf-8")
    assert published == render_table(), (
        "regenerate docs/android-behaviours.md from jpkikit.vocab.omapi.android"
    )


def test_every_behaviour_names_real_requirements() -> None:
    ids = set(load_catalogue().ids())
    for behaviour in BEHAVIOURS:
        assert behaviour.requirements, behaviour.id
        assert set(behaviour.requirements) <= ids, f"{behaviour.id}: {set(behaviour.requirements) - ids}"
        assert behaviour.sources, behaviour.id
        if behaviour.until is not None:
            assert behaviour.until in RELEASES and behaviour.since <= behaviour.until, behaviour.id


def test_behaviour_ids_are_unique() -> None:
    ids = [b.id for b in BEHAVIOURS]
    assert len(ids) == len(set(ids))


def test_the_protocol_page_names_every_method_and_code() -> None:
    page = (DOCS / "handset-agent-protocol.md").read_text(encoding="utf-8")
    names = [*protocol.V1_METHODS, *protocol.V2_METHODS, *protocol.TESTBED_METHODS]
    names += [*protocol.OMAPI_ERRORS, *protocol.PROTOCOL_ERRORS]
    missing = [n for n in names if f"`{n}`" not in page]
    assert not missing, f"docs/handset-agent-protocol.md does not describe: {missing}"
