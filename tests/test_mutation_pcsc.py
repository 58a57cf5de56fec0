"""The mutation tool through PC/SC: the kit's emulator served by ``jpkikit emulate`` (no --testbed: an
ordinary card the kit cannot renew) in one vpcd slot is the unit; ``jpkikit mutate run`` serves each mutant
in the other slot and certifies it with profiles/served-unit.yaml pointed at the proxy.

Every mutant that does not act by time is run in-process in tests/test_mutation_run.py (no pcscd, faster).
Here, to keep CI within a few minutes, the run is the identity (the whole suite through the proxy on the
wire: it must give 0 fail and 0 kit error), the two mutants that act by time (they need the host's
transport timeout) and a few that rewrite what only the wire carries (61xx, R-MAC, PIN counters), each with
``--focus``. ``JPKI_MUTATION_MUTANTS=all`` (``tox -e mutation``) runs the whole library this way instead
(about 4 minutes on 2 idle cores; docs/mutation.md gives its numbers).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from jpkikit.host import mutants
from jpkikit.host.pcsc import list_readers
from jpkikit.host.vpcd import reader_name

from . import pcsc_support
from .cli_runner import jpkikit
from .test_device_campaign import profile, unit

pytestmark = pytest.mark.pcsc

#: The mutants of the CI run through PC/SC (the identity is always run first).
WIRE_SUBSET = (
    "select-absent-aid-ok",
    "verify-counter-kept",
    "swallows-61xx",
    "rmac-corrupted",
    "slow-signature",
    "mute-from-signature",
)
#: What the library expects of the mutants it does not expect killed, on this unit.
SURVIVORS = {
    "slow-signature": {"inconclusive"},  # one test inconclusive (DeviceTimeout), never fail
    "mute-from-signature": {"hung", "inconclusive"},  # stopped at the deadline, next mutant follows
}


def test_the_suite_kills_mutants_served_through_pcsc(workdir: Path) -> None:
    chosen = os.environ.get("JPKI_MUTATION_MUTANTS") or ",".join(WIRE_SUBSET)
    ids = {m.spec.id for m in mutants.select(chosen)} - {mutants.IDENTITY}
    other = reader_name(35964 if pcsc_support.PORT == 35963 else 35963)
    with unit(workdir / "unit.json"):
        if any(i.name == other and i.card_present for i in list_readers()):
            pytest.fail(f"{other!r} holds a card: the proxy needs that vpcd slot")
        started = time.monotonic()
        proc = jpkikit(
            "mutate",
            "run",
            "--profile",
            str(profile(workdir, "served-unit")),
            "--mutants",
            chosen,
            "--focus",
            "--mutant-timeout",
            "60",
            "--results",
            str(workdir / "mutation"),
            timeout=1200,
        )
        elapsed = time.monotonic() - started
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads((workdir / "mutation" / "mutation.json").read_text())
    identity = report["identity"]
    assert identity["counts"].get("fail", 0) == 0 and identity["counts"].get("kit error", 0) == 0
    assert identity["counts"].get("pass", 0) > 50, identity["counts"]
    assert identity["rewritten"] == 0, identity
    by_id = {m["id"]: m for m in report["mutants"]}
    assert set(by_id) == ids and report["kill_rate"]["not_run"] == []
    expected = {i for i, m in by_id.items() if m["expect"] == "killed"}
    assert expected == set(by_id) - set(SURVIVORS)
    not_killed = {i: m["outcome"] for i, m in by_id.items() if i in expected and not m["killed"]}
    assert not not_killed, f"mutants the library expects killed survived: {not_killed}"
    for i in expected:
        assert by_id[i]["expected_requirement_hit"], (
            f"{i} was killed, but not by a test of {by_id[i]['breaks']}"
        )
    for i, outcomes in SURVIVORS.items():
        if i in by_id:
            assert by_id[i]["outcome"] in outcomes, f"{i}: {by_id[i]['outcome']} ({by_id[i]['note']})"
            assert by_id[i]["counts"].get("fail", 0) == 0, i
    for m in report["mutants"]:  # the unit came out of every mutant as it went in
        assert m["unit_after"].startswith("as found") or "restored" in m["unit_after"], (
            m["id"],
            m["unit_after"],
        )
    rate = report["kill_rate"]
    assert rate["killed"] == len(expected) and rate["missed"] == []
    print(f"kill rate through PC/SC {rate['killed']}/{rate['mutants']} in {elapsed:.0f} s")
    assert "Kill rate" in (workdir / "mutation" / "mutation.md").read_text()


def test_mutate_serve_puts_a_mutant_of_the_unit_in_the_other_reader(tmp_path: Path) -> None:
    import subprocess
    import sys

    from jpkikit.host.card_session import CardSession
    from jpkikit.host.pcsc import PcscTransport
    from jpkikit.host.vpcd import wait_for_card, wait_for_card_removed
    from jpkikit.vocab.jpki.card import JPKI_AID

    other_port = 35964 if pcsc_support.PORT == 35963 else 35963
    absent = bytes.fromhex("D392F0002601000000FF")
    with unit(tmp_path / "unit.json"):
        cmd = [sys.executable, "-m", "jpkikit", "mutate", "serve", "--upstream", pcsc_support.READER]
        cmd += ["--mutant", "select-absent-aid-ok", "--port", str(other_port), "--timeout", "10"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for_card(reader_name(other_port), timeout=15)
            with PcscTransport(reader_name(other_port), timeout=10) as link:
                session = CardSession(link)
                session.reset()
                assert session.select(JPKI_AID).ok
                assert session.select(absent).ok  # 6A82 on the unit, 9000 through the mutant
            with PcscTransport(pcsc_support.READER, timeout=10) as link:
                assert CardSession(link).select(absent).sw == 0x6A82  # the unit itself is unchanged
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=10)
        wait_for_card_removed(reader_name(other_port), timeout=10)
    assert proc.returncode == 0, err
    assert "mutant select-absent-aid-ok:" in out and "answers changed 1," in out
