"""``tox -e bench``: the kit's speed against its peers and floors, side by side, as ratios with targets.

Every figure of issue 16's table, measured in this one run (ratios are taken between figures measured in
the same run, their samples interleaved so that the load of a shared machine hits both sides alike):

1. SCP03, level 33, 16-byte command: the wrap and the full host path (wrap, card answer, unwrap), the kit
   against yubikit's SCP03 host and a floor (the same calls with contexts keyed once); benchmarks/
   scp03_peers.py.
2. One APDU through pcscd: the kit's served emulator (``jpkikit emulate``, with and without ``--state``)
   against a minimal vpcd card that only answers 6A82 (benchmarks/minimal_vpcd_card.py) and against vicc
   (Debian vsmartcard-vpicc, as shipped and with TCP_QUICKACK; benchmarks/vicc.py); benchmarks/
   pcsc_roundtrip.py. Uses both vpcd slots: run it under ``flock /tmp/pcsc.lock`` where others use pcscd.
   For information, the same race with both cards pinned to one CPU (taskset): the scheduler places two
   processes of different sizes differently, and that row shows the kit's cost without that effect; the
   target holds for the unpinned row, as cards are deployed.
3. GP-SE certification in-process and through pcscd, and two units certified in parallel (``jpkikit
   certify --profile A --profile B``) against the same two one after the other.

Each figure is the median of several repetitions; the spread column is (max - min) / median of its samples,
a measure of how noisy the machine was. Exit status 0 whatever the marks (a benchmark informs; it is no
gate), 2 when a measurement itself failed.

Run: python benchmarks/peers.py [--rounds N] [--skip scp03,pcsc,certify]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pcsc_roundtrip  # noqa: E402
import scp03_peers  # noqa: E402
import vicc  # noqa: E402

from jpkikit.errors import KitError  # noqa: E402

REPO = HERE.parent
GPSE = REPO / "profiles" / "emulator-gpse.yaml"
GPSE_PCSC = REPO / "profiles" / "emulator-gpse-pcsc.yaml"
PARALLEL_PAIR = (REPO / "profiles" / "emulator-gpse.yaml", REPO / "profiles" / "emulator-sim.yaml")
IN_PROCESS_SECONDS = 4.0  # issue 16: GP-SE in-process certification at most 4 s on the 2-core machine


@dataclass
class Row:
    figure: str
    kit: str
    other: str
    ratio: float | None
    target: str
    met: bool | None  # None: no target (shown for information)
    spread: str = ""

    def mark(self) -> str:
        return {True: "PASS", False: "MISS", None: "info"}[self.met]


def spread(*samples: list[float]) -> str:
    return " / ".join(f"{(max(s) - min(s)) / statistics.median(s):.0%}" for s in samples if s)


def us(value: float) -> str:
    return f"{value:,.1f} µs" if value < 1000 else f"{value / 1000:,.2f} ms"


# -- 1. SCP03 ------------------------------------------------------------------------------------------------


def scp03_rows(repeats: int) -> list[Row]:
    contenders = {
        "kit wrap": scp03_peers.kit_wrap_bytes,
        "yubikit wrap": scp03_peers.yubikit_wrap,
        "floor wrap": scp03_peers.floor_wrap,
        "kit full": scp03_peers.kit_full(scp03_peers.kit_answers()),
        "yubikit full": scp03_peers.yubikit_full(scp03_peers.yubikit_answers()),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for run in contenders.values():
        run()  # warm-up
    for _ in range(repeats):
        for name, run in contenders.items():
            samples[name] += scp03_peers.per_op(run, 1)
    m = {name: statistics.median(values) for name, values in samples.items()}
    third = 1 / 3
    return [
        Row(
            "SCP03 L33 wrap 16 B, kit / yubikit",
            us(m["kit wrap"]),
            f"yubikit {us(m['yubikit wrap'])}",
            m["kit wrap"] / m["yubikit wrap"],
            "≤ 0.33 (the full-path target)",
            m["kit wrap"] / m["yubikit wrap"] <= third,
            spread(samples["kit wrap"], samples["yubikit wrap"]),
        ),
        Row(
            "SCP03 L33 wrap 16 B, kit / floor",
            us(m["kit wrap"]),
            f"floor {us(m['floor wrap'])}",
            m["kit wrap"] / m["floor wrap"],
            "— (contexts keyed once)",
            None,
            spread(samples["kit wrap"], samples["floor wrap"]),
        ),
        Row(
            "SCP03 full host path 16 B, kit / yubikit",
            us(m["kit full"]),
            f"yubikit {us(m['yubikit full'])}",
            m["kit full"] / m["yubikit full"],
            "≤ 0.33",
            m["kit full"] / m["yubikit full"] <= third,
            spread(samples["kit full"], samples["yubikit full"]),
        ),
    ]


# -- 2. one APDU through pcscd -------------------------------------------------------------------------------


def served_and_minimal(
    rounds: int, state: Path | None = None, pin: list[str] | None = None
) -> tuple[list[float], list[float]]:
    """µs per round trip of the served emulator and of the minimal card, raced on the two slots with each
    side on each slot (no slot bias); ``pin``: a command prefix for both cards (taskset)."""
    prefix = pin or []
    kit_samples: list[float] = []
    floor_samples: list[float] = []
    slot0, slot1 = sorted(pcsc_roundtrip.SLOTS)
    n = 100  # round trips per sample: many short samples, paired, resist a shared machine's bursts
    for kit_slot, floor_slot in ((slot0, slot1), (slot1, slot0)):
        (kit_cmd, kit_env), (floor_cmd, floor_env) = (
            pcsc_roundtrip.emulator(kit_slot, state),
            pcsc_roundtrip.minimal(floor_slot),
        )
        half = pcsc_roundtrip.race(
            {
                "served": (kit_slot, (prefix + kit_cmd, kit_env)),
                "minimal": (floor_slot, (prefix + floor_cmd, floor_env)),
            },
            {"served": n, "minimal": n},
            rounds,
        )
        kit_samples += half["served"]
        floor_samples += half["minimal"]
    return kit_samples, floor_samples


def paired_ratio(kit: list[float], floor: list[float]) -> float:
    """The median of the ratios of samples taken side by side (the i-th of each in one round)."""
    return statistics.median(a / b for a, b in zip(kit, floor, strict=True))


def pcsc_rows(rounds: int, workdir: Path) -> list[Row]:
    slot0, slot1 = sorted(pcsc_roundtrip.SLOTS)
    rows: list[Row] = []
    for label, state in (("served", None), ("served --state", workdir / "state.json")):
        kit_samples, floor_samples = served_and_minimal(rounds, state)
        kit, floor = statistics.median(kit_samples), statistics.median(floor_samples)
        ratio = paired_ratio(kit_samples, floor_samples)
        rows.append(
            Row(
                f"APDU via pcscd, {label} / minimal card",
                us(kit),
                f"minimal {us(floor)}",
                ratio,
                "≤ 1.2",
                ratio <= 1.2,
                spread(kit_samples, floor_samples),
            )
        )
        if state is None:
            served_us, minimal_us = kit, floor
    rows += pinned_rows(rounds)
    why = vicc.missing()
    if why:
        rows.append(Row("APDU via pcscd, vicc", "—", why, None, "—", None))
        return rows
    samples = pcsc_roundtrip.race(  # the same slots as the served card's first half
        {
            "vicc quickack": (slot0, vicc.command(slot0, workdir, quickack=True)),
            "vicc shipped": (slot1, vicc.command(slot1, workdir, quickack=False)),
        },
        {"vicc quickack": 100, "vicc shipped": 4},
        max(3, rounds // 2),
    )
    quick, shipped = statistics.median(samples["vicc quickack"]), statistics.median(samples["vicc shipped"])
    rows += [
        Row(
            "APDU via pcscd, served / vicc (TCP_QUICKACK)",
            us(served_us),
            f"vicc {us(quick)}",
            served_us / quick,
            "— (peer)",
            None,
            spread(samples["vicc quickack"]),
        ),
        Row(
            "APDU via pcscd, served / vicc as shipped",
            us(served_us),
            f"vicc {us(shipped)} (delayed ACK)",
            served_us / shipped,
            "— (peer)",
            None,
            spread(samples["vicc shipped"]),
        ),
        Row(
            "APDU via pcscd, vicc (TCP_QUICKACK) / minimal",
            us(quick),
            f"minimal {us(minimal_us)}",
            quick / minimal_us,
            "— (peer)",
            None,
        ),
    ]
    return rows


def pinned_rows(rounds: int) -> list[Row]:
    """The same race with both cards on one CPU (taskset): the scheduler then places them alike, which it
    does not do for two processes of different sizes, so this row shows the kit's own cost without that
    placement effect. For information: the target holds for the unpinned row, as cards are deployed."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or shutil.which("taskset") is None:
        figure = "APDU via pcscd, served / minimal, both cards on one CPU"
        return [Row(figure, "—", "needs taskset and 2 CPUs", None, "—", None)]
    kit_samples, floor_samples = served_and_minimal(max(3, rounds // 2), pin=["taskset", "-c", str(cpus[-1])])
    return [
        Row(
            f"APDU via pcscd, served / minimal, both cards on CPU {cpus[-1]}",
            us(statistics.median(kit_samples)),
            f"minimal {us(statistics.median(floor_samples))}",
            paired_ratio(kit_samples, floor_samples),
            "— (placement alike)",
            None,
            spread(kit_samples, floor_samples),
        )
    ]


# -- 3. whole certification runs -----------------------------------------------------------------------------


#: CPU seconds (user + system) of every child process waited for, so far.
def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, list[float]] = {}  # CPU seconds of each certification figure's runs


def certify(profiles: tuple[Path, ...], results: Path, figure: str = "") -> float:
    """Wall seconds of one ``jpkikit certify`` with these profiles (several: the parallel command)."""
    cmd = [sys.executable, "-m", "jpkikit", "certify"]
    for profile in profiles:
        cmd += ["--profile", str(profile)]
    cmd += ["--results", str(results)]
    cpu = children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    CPU.setdefault(figure, []).append(children_cpu() - cpu)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        )
    return seconds


def parallel_supported() -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "jpkikit", "certify", "--help"], capture_output=True, text=True, check=False
    )
    return "several" in proc.stdout


def two_processes(profiles: tuple[Path, ...], results: Path) -> float:
    """The fallback when ``certify --profile A --profile B`` is not there: two one-unit processes at once."""
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jpkikit",
                "certify",
                "--profile",
                str(p),
                "--results",
                str(results / p.stem),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in profiles
    ]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise RuntimeError(f"parallel certify exited {codes}")
    return time.perf_counter() - start


def certify_rows(rounds: int, workdir: Path, with_pcsc: bool) -> list[Row]:
    use_command = parallel_supported()
    samples: dict[str, list[float]] = {"in-process": [], "pcsc": [], "sequential": [], "parallel": []}
    for i in range(rounds):
        samples["in-process"].append(certify((GPSE,), workdir / f"gpse-{i}", "in-process"))
        if with_pcsc:
            samples["pcsc"].append(certify((GPSE_PCSC,), workdir / f"gpse-pcsc-{i}", "pcsc"))
        samples["sequential"].append(sum(certify((p,), workdir / f"seq-{i}-{p.stem}") for p in PARALLEL_PAIR))
        run = certify if use_command else two_processes
        samples["parallel"].append(run(PARALLEL_PAIR, workdir / f"par-{i}"))
        for p in PARALLEL_PAIR:  # each unit's own results, as a run alone writes them
            for produced in ("junit.xml", "allure-results"):
                if not (workdir / f"par-{i}" / p.stem / produced).exists():
                    raise RuntimeError(f"parallel certify: no {produced} for {p.stem}")
    inproc = statistics.median(samples["in-process"])
    cpu = statistics.median(CPU["in-process"])
    rows = [
        Row(
            "GP-SE certify in-process / 4 s",
            f"{inproc:.2f} s (CPU {cpu:.2f} s, best {min(samples['in-process']):.2f} s)",
            f"target {IN_PROCESS_SECONDS:.0f} s",
            inproc / IN_PROCESS_SECONDS,
            "≤ 1",
            inproc <= IN_PROCESS_SECONDS,
            spread(samples["in-process"]),
        )
    ]
    if with_pcsc:
        pcsc = statistics.median(samples["pcsc"])
        ratio = paired_ratio(samples["pcsc"], samples["in-process"])
        rows.append(
            Row(
                "GP-SE certify through pcscd / in-process",
                f"{pcsc:.2f} s",
                f"in-process {inproc:.2f} s",
                ratio,
                "≤ 2",
                ratio <= 2,
                spread(samples["pcsc"], samples["in-process"]),
            )
        )
        # the wording, "in-process at most 4 s and through pcscd at most twice that", read as
        # twice the in-process target; the row above holds it to twice the in-process time measured
        rows.append(
            Row(
                f"GP-SE certify through pcscd / {2 * IN_PROCESS_SECONDS:.0f} s",
                f"{pcsc:.2f} s",
                f"target {2 * IN_PROCESS_SECONDS:.0f} s",
                pcsc / (2 * IN_PROCESS_SECONDS),
                "≤ 1",
                pcsc <= 2 * IN_PROCESS_SECONDS,
                spread(samples["pcsc"]),
            )
        )
    seq, par = statistics.median(samples["sequential"]), statistics.median(samples["parallel"])
    ratio = paired_ratio(samples["sequential"], samples["parallel"])
    how = "certify --profile A --profile B" if use_command else "two processes"
    rows.append(
        Row(
            f"2 units ({' + '.join(p.stem for p in PARALLEL_PAIR)}): one after the other / parallel",
            f"{how} {par:.2f} s",
            f"sequential {seq:.2f} s",
            ratio,
            "≥ 1.6",
            ratio >= 1.6,
            spread(samples["sequential"], samples["parallel"]),
        )
    )
    return rows


# -- the table -----------------------------------------------------------------------------------------------


def show(rows: list[Row]) -> None:
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("figure", "kit", "other", "target")]
    head = ("figure", "jpkikit", "peer or floor", "ratio", "target", "mark", "spread")
    print(
        f"{head[0]:{widths[0]}}  {head[1]:>{widths[1]}}  {head[2]:{widths[2]}}  {head[3]:>6}  "
        f"{head[4]:{widths[3]}}  {head[5]}  {head[6]}"
    )
    for r in rows:
        ratio = f"{r.ratio:6.2f}" if r.ratio is not None else "     —"
        print(
            f"{r.figure:{widths[0]}}  {r.kit:>{widths[1]}}  {r.other:{widths[2]}}  {ratio}  "
            f"{r.target:{widths[3]}}  {r.mark()}  {r.spread}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of each certification (default 3)")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: scp03, pcsc, certify")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    load = os.getloadavg()
    print(f"bench: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="jpkikit-bench-") as tmp:
        workdir = Path(tmp)
        try:
            if "scp03" not in skip:
                rows += scp03_rows(repeats=9)
            if "pcsc" not in skip:
                rows += pcsc_rows(rounds=15, workdir=workdir)
            if "certify" not in skip:
                rows += certify_rows(args.rounds, workdir, with_pcsc="pcsc" not in skip)
        except (RuntimeError, OSError, KitError) as exc:
            show(rows) if rows else None
            print(f"bench: a measurement failed: {exc}", file=sys.stderr)
            return 2
    load = os.getloadavg()
    print(f"bench: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")
    show(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
