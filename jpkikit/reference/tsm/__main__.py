"""Serve the reference TSM (with the simulated J-LIS back end) for the kit's emulator SE:
``python -m jpkikit.reference.tsm --port 8730 --db jlis.sqlite [--tls-cert c.pem --tls-key k.pem]``.
Prints the URL, serves until interrupted (or killed: the state is in the database, and a restart on the
same database resumes every interrupted session)."""

from __future__ import annotations

import argparse
import sys
import threading

from jpkikit.reference.tsm.flows import TsmOptions
from jpkikit.reference.tsm.wiring import (
    DEFAULT_LEVEL,
    emulator_sei_target,
    emulator_target,
    server_tls,
    start_reference_tsm,
)


def main(argv: list[str] | None = None, stop: threading.Event | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpkikit.reference.tsm", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--db", default=":memory:", help="sqlite file of the TSM and back end (default: memory)"
    )
    parser.add_argument("--level", default=f"{DEFAULT_LEVEL:02X}", help="SCP03 level to open (hex)")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    parser.add_argument("--off-card", action="store_true", help="the SIM design: keys made off card")
    args = parser.parse_args(argv)
    level = int(args.level, 16)
    tls = server_tls(args.tls_cert, args.tls_key) if args.tls_cert else None
    options = TsmOptions("off-card" if args.off_card else "on-card")
    server = start_reference_tsm(
        args.db,
        emulator_target(level),
        port=args.port,
        sei=emulator_sei_target(level),
        options=options,
        tls=tls,
    )
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
