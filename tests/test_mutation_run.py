"""The mutation tool in CI without PC/SC: ``jpkikit mutate run`` against the kit's in-process emulator
(profiles/emulator-gpse.yaml). Each mutant's certification makes its cards with the factory
``jpkikit.cli.mutation:mutated_emulator``: the emulator behind the mutation proxy, which sees only the wire.

To keep it short the run uses ``--focus``: the identity run is the whole suite (it must give 0 fail and 0
kit error), each mutant runs only the tests of the requirements it is expected to break. The two mutants
that act by time (a late or a missing answer) need a link with a timeout: they are not run here but through
pcscd, in tests/test_mutation_pcsc.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jpkikit.host import mutants

from .cli_runner import jpkikit
from .conformance_runner import REPO

pytestmark = pytest.mark.slow

#: The mutants the library does not expect killed (the identity and the timed ones aside), and what becomes
#: of them in-process: none today.
SURVIVORS: dict[str, str] = {}
TIMED = {m.spec.id for m in mutants.LIBRARY if m.spec.timed}


def test_the_suite_kills_the_mutant_library_in_process(workdir: Path) -> None:
    started = time.monotonic()
    proc = jpkikit(
        "mutate",
        "run",
        "--profile",
        str(REPO / "profiles" / "emulator-gpse.yaml"),
        "--mutants",
        "all",
        "--focus",
        "--mutant-timeout",
        "120",
        "--results",
        str(workdir / "mutation"),
        "--strict",
        timeout=1200,
    )
    elapsed = time.monotonic() - started
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads((workdir / "mutation" / "mutation.json").read_text())
    assert report["upstream"] == "in-process"
    identity = report["identity"]
    assert identity["counts"].get("fail", 0) == 0 and identity["counts"].get("kit error", 0) == 0, identity
    assert identity["counts"].get("pass", 0) > 50, identity["counts"]
    assert identity["rewritten"] == 0 and identity["commands"] > 1000, identity
    by_id = {m["id"]: m for m in report["mutants"]}
    assert set(by_id) == {m.spec.id for m in mutants.LIBRARY} - {mutants.IDENTITY}
    rate = report["kill_rate"]
    assert set(rate["not_run"]) == TIMED and TIMED
    expected = {i for i, m in by_id.items() if m["expect"] == "killed"}
    assert expected == set(by_id) - set(SURVIVORS) - TIMED
    not_killed = {i: (m["outcome"], m["note"]) for i, m in by_id.items() if i in expected and not m["killed"]}
    assert not not_killed, f"mutants the library expects killed survived: {not_killed}"
    for i in expected:
        assert by_id[i]["expected_requirement_hit"], (
            f"{i} was killed, but not by a test of {by_id[i]['breaks']}"
        )
        assert by_id[i]["rewritten"] > 0, i
    for i, outcome in SURVIVORS.items():
        assert by_id[i]["outcome"] == outcome, f"{i}: {by_id[i]['outcome']} ({by_id[i]['note']})"
    assert (
        rate["killed"] == len(expected)
        and rate["missed"] == []
        and rate["mutants"] == len(expected) + len(SURVIVORS)
    )
    print(f"in-process kill rate {rate['killed']}/{rate['mutants']} in {elapsed:.0f} s")
    assert "Kill rate" in (workdir / "mutation" / "mutation.md").read_text()
