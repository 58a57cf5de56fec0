"""Serve the reference TSM (with the simulated J-LIS back end) for the kit's emulator SE:
``python -m jpkikit.reference.tsm --port 8730 --db jlis.sqlite``. Prints the URL, serves until interrupted."""

from __future__ import annotations

import argparse
import sys
import threading

from jpkikit.reference.tsm.wiring import DEFAULT_LEVEL, emulator_target, start_reference_tsm


def main(argv: list[str] | None = None, stop: threading.Event | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpkikit.reference.tsm", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--db", default=":memory:", help="sqlite file of the back end (default: in memory)")
    parser.add_argument("--level", default=f"{DEFAULT_LEVEL:02X}", help="SCP03 level to open (hex)")
    args = parser.parse_args(argv)
    server = start_reference_tsm(args.db, emulator_target(int(args.level, 16)), port=args.port)
    print(server.url, flush=True)
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
