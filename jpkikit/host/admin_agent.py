"""The kit's side of the handset admin agent (GP Amendment B, docs/tsm-protocol.md): it opens an HTTP
session with a TSM, runs each command script on the SE it drives (the emulator or any transport) and posts
the R-APDUs back, until the TSM answers 204 No Content.

The agent collects 61xx answers with GET RESPONSE itself, so each R-APDU in a response script is complete;
it stops a script at the first error status word. Everything it exchanges is kept in ``AgentReport``
(scripts as sent; the SE-side trace is the transport's tracer's, with secrets redacted there).
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jpkikit.errors import KitError
from jpkikit.host.card_session import exchange
from jpkikit.host.link import Transport
from jpkikit.vocab.gp.ram_script import (
    CONTENT_TYPE_RESPONSE,
    CONTENT_TYPE_SCRIPT,
    H_FROM,
    H_PROTOCOL,
    H_SCRIPT_STATUS,
    PROTOCOL,
    ScriptError,
    decode_commands,
    encode_responses,
    is_error,
)

MAX_SCRIPTS = 64  # a TSM that never ends its session is a finding, not an endless loop
TIMEOUT = 60.0


class AgentError(KitError):
    """The session with the TSM broke: connection dropped, bad HTTP answer, unparseable script."""


@dataclass
class AgentReport:
    scripts: list[list[bytes]] = field(default_factory=list)  # C-APDUs as the TSM sent them
    responses: list[list[bytes]] = field(default_factory=list)  # R-APDUs as the agent returned them
    targets: list[str] = field(default_factory=list)  # X-Admin-Targeted-Application per script


class AdminAgent:
    def __init__(self, se: Transport, tsm_url: str, agent_id: str = "jpkikit-agent") -> None:
        self.se = se
        split = urlsplit(tsm_url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.agent_id = agent_id

    def _exchange(self, raw: bytes) -> bytes:
        """One C-APDU to the SE, 61xx collected (the R-MAC covers the whole answer, GPCS §11.1.5.2)."""
        return exchange(self.se.transmit, raw, fix_le=False)

    def run(self, admin_uri: str) -> AgentReport:
        report = AgentReport()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        body, status = b"", None
        try:
            for _ in range(MAX_SCRIPTS):
                headers = {H_PROTOCOL: PROTOCOL, H_FROM: self.agent_id}
                if body:
                    headers["Content-Type"] = CONTENT_TYPE_RESPONSE
                    headers[H_SCRIPT_STATUS] = status or "ok"
                try:
                    conn.request("POST", admin_uri, body=body, headers=headers)
                    answer = conn.getresponse()
                    payload = answer.read()
                except (OSError, http.client.HTTPException) as exc:
                    raise AgentError(
                        f"TSM connection broke after {len(report.scripts)} script(s): {exc!r}"
                    ) from None
                if answer.status == 204:
                    return report
                if answer.status != 200:
                    raise AgentError(f"TSM answered HTTP {answer.status}: {payload[:200]!r}")
                ctype = answer.getheader("Content-Type", "")
                if ctype.replace(" ", "") != CONTENT_TYPE_SCRIPT:
                    raise AgentError(f"TSM script has content type {ctype!r}, {CONTENT_TYPE_SCRIPT} expected")
                try:
                    commands = decode_commands(payload)
                except ScriptError as exc:
                    raise AgentError(str(exc)) from None
                report.scripts.append(commands)
                report.targets.append(answer.getheader("X-Admin-Targeted-Application", ""))
                responses = []
                for raw in commands:
                    r = self._exchange(raw)
                    responses.append(r)
                    if is_error(int.from_bytes(r[-2:], "big")):
                        break
                report.responses.append(responses)
                body, status = encode_responses(responses), "ok"
            raise AgentError(f"TSM sent more than {MAX_SCRIPTS} scripts without ending the session")
        finally:
            conn.close()
