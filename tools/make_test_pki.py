#!/usr/bin/env python3
"""Regenerate the kit's deterministic test PKI (JPKI-TEST roots, auth and sign certificates, test keys).

    python tools/make_test_pki.py            # write jpkikit/reference/persona/
    python tools/make_test_pki.py --check    # exit 1 if the committed files differ from a regeneration

The same seed always gives the same bytes (jpkikit/reference/persona/generate.py explains how).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jpkikit.reference.persona.generate import build  # noqa: E402

OUT = ROOT / "jpkikit" / "emulator" / "persona"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files, write nothing"
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"output directory (default {OUT})")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        stale = [
            name
            for name, data in files.items()
            if not (args.out / name).is_file() or (args.out / name).read_bytes() != data
        ]
        for name in stale:
            print(f"differs: {args.out / name}", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
