"""Wall time of whole certification runs (median of N), as a user runs them.

Run: .venv/bin/python benchmarks/certify_wall.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROFILES = ["emulator-gpse.yaml", "emulator-card.yaml", "emulator-sim.yaml", "emulator-gpse-pcsc.yaml"]


def main(rounds: int) -> None:
    for name in PROFILES:
        times = []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as results:
                start = time.perf_counter()
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "jpkikit",
                        "certify",
                        "--profile",
                        str(REPO / "profiles" / name),
                        "--results",
                        results,
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                print(f"{name}: certify exited {proc.returncode}\n{proc.stdout[-2000:]}")
                break
        summary = [line for line in proc.stdout.splitlines() if " pass, " in line]
        print(
            f"{name:28} median {statistics.median(times):6.2f}s  min {min(times):6.2f}s  "
            f"(n={len(times)})  {summary[0] if summary else ''}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
