"""The decisive APDU exchanges of a failed or inconclusive test: the last exchanges of its trace, read from
the results' ``traces/`` directory exactly as the run saved them (redacted by the tracer and scrubbed: secret
command data is cut out and described, never re-read from anywhere else).

The plugin names a test's trace ``<test name>-<sha1(node ID)[:12]>.json`` (jpkikit.harness.plugin); the
results' JUnit XML gives the node ID as ``<module path with dots>[.<class>]::<name>``, so the trace is found
by its name and, where several tests share a name, by the digest of the node ID.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from jpkikit.errors import KitError
from jpkikit.host.tracer import Exchange, Trace

TRACES = "traces"
#: How many exchanges (the last of the test) the report shows.
LAST = 6


def _candidate_nodeids(junit_nodeid: str) -> list[str]:
    classname, _, name = junit_nodeid.rpartition("::")
    parts = classname.split(".")
    out = []
    for cut in range(len(parts), 0, -1):
        module = "/".join(parts[:cut]) + ".py"
        out.append("::".join([module, *parts[cut:], name]))
    return out


def trace_file(results: Path, junit_nodeid: str) -> Path | None:
    """The saved trace of a test, or None when the test recorded none."""
    directory = results / TRACES
    if not directory.is_dir():
        return None
    name = junit_nodeid.rpartition("::")[2]
    safe = name.replace("/", "_")[:60]
    found = sorted(directory.glob(f"{glob_escape(safe)}-*.json"))
    digests = {hashlib.sha1(n.encode()).hexdigest()[:12] for n in _candidate_nodeids(junit_nodeid)}
    exact = [p for p in found if p.stem.rsplit("-", 1)[-1] in digests]
    if exact:
        return exact[0]
    return found[0] if len(found) == 1 else None


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


#: Longer command or response data is cut to its first bytes, with its length (a certificate is ~1 kB).
SHOWN_HEX = 64


def _short(hex_text: str) -> str:
    if len(hex_text) <= SHOWN_HEX + 32:
        return hex_text
    return f"{hex_text[:SHOWN_HEX]}… ({len(hex_text) // 2} bytes)"


def exchange_line(exchange: Exchange) -> str:
    """One exchange in two lines: ``> command`` (secret data shown as what was cut out) and ``< answer``."""
    if exchange.event:
        return f"-- {exchange.event}: {exchange.meaning}"
    command = exchange.shown_command(_short)
    head = f"> {command}  {exchange.name}".rstrip()
    if exchange.error:
        return f"{head}\n< !! {exchange.error}"
    data = _short(exchange.response[:-4].upper())
    answer = f"{data} {exchange.sw}" if data else exchange.sw
    return f"{head}\n< {answer} ({exchange.meaning})"


def decisive(results: Path, junit_nodeid: str, last: int = LAST) -> dict[str, Any] | None:
    """``{"trace": "traces/<file>", "shown": n, "of": total, "lines": [...]}`` for a test's trace, or None."""
    path = trace_file(results, junit_nodeid)
    if path is None:
        return None
    try:
        trace = Trace.load(path)
    except KitError:
        return None
    exchanges = trace.exchanges[-last:]
    return {
        "trace": f"{TRACES}/{path.name}",
        "shown": len(exchanges),
        "of": len(trace.exchanges),
        "lines": [exchange_line(e) for e in exchanges],
    }
