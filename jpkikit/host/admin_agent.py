"""The kit's side of the handset admin agent (GP Amendment B, docs/tsm-protocol.md): it opens an HTTP(S)
session with a TSM, runs each command script on the SE it drives (the emulator or any transport) and posts
the R-APDUs back to the URI the TSM names (X-Admin-Next-URI), until the TSM answers 204 No Content.

The agent collects 61xx answers with GET RESPONSE itself, so each R-APDU in a response script is complete;
it stops a script at the first error status word. When the connection breaks, it resumes as Amendment B
defines: it posts its last request again to the last URI with ``X-Admin-Resume: true`` (a few times, with a
growing pause), and the TSM continues the dialogue or sends again the reply that was lost. Everything it
exchanges is kept in :class:`AgentReport` (scripts as sent, answers, the raw bodies; the SE-side trace is
the transport's tracer's, with secrets redacted there).

Errors: a TSM that breaks the protocol (an HTTP status other than 200/204, another content type, no next
URI, a script that does not parse, a session that never ends) raises :class:`TsmProtocolError`, a
non-conformance; a TSM that cannot be reached again raises :class:`AgentDisconnected`, a transport error
(inconclusive).

Tests interrupt a session on purpose with ``interrupt(n)``, called after the n-th script ran on the SE:
``"lose-request"`` (the connection drops before the answers are posted), ``"lose-reply"`` (they are posted
and the reply is lost), or None.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jpkikit.errors import KitError, NonConformance, TransportError
from jpkikit.host.card_session import exchange
from jpkikit.host.link import Transport
from jpkikit.vocab.gp.ram_script import (
    CONTENT_TYPE_RESPONSE,
    CONTENT_TYPE_SCRIPT,
    H_FROM,
    H_NEXT_URI,
    H_PROTOCOL,
    H_RESUME,
    H_SCRIPT_STATUS,
    H_TARGET,
    PROTOCOL,
    ScriptError,
    decode_commands,
    encode_responses,
    is_error,
)

MAX_SCRIPTS = 64  # a TSM that never ends its session is a finding, not an endless loop
TIMEOUT = 60.0
RESUME_ATTEMPTS = 6
RESUME_PAUSE = 0.1  # seconds, doubled after each attempt

Interrupt = Callable[[int], str | None]


class AgentError(KitError):
    """The session with the TSM broke."""


class TsmProtocolError(AgentError, NonConformance):
    """The TSM broke GP Amendment B: bad HTTP answer, content type, next URI, or a script that does not
    parse."""


class AgentDisconnected(AgentError, TransportError):
    """The TSM could not be reached again to resume the session."""


@dataclass
class AgentReport:
    scripts: list[list[bytes]] = field(default_factory=list)  # C-APDUs as the TSM sent them
    responses: list[list[bytes]] = field(default_factory=list)  # R-APDUs as the agent returned them
    targets: list[str] = field(default_factory=list)  # X-Admin-Targeted-Application per script
    bodies: list[bytes] = field(default_factory=list)  # every HTTP body the TSM sent, as received
    resumed: int = 0  # how many times the session was resumed


class AdminAgent:
    def __init__(
        self,
        se: Transport,
        tsm_url: str,
        agent_id: str = "jpkikit-agent",
        tls: ssl.SSLContext | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.se = se
        split = urlsplit(tsm_url)
        self.https = split.scheme == "https"
        self.host, self.port = split.hostname or "127.0.0.1", split.port or (443 if self.https else 80)
        self.agent_id = agent_id
        self.tls = tls
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _exchange(self, raw: bytes) -> bytes:
        """One C-APDU to the SE, 61xx collected (the R-MAC covers the whole answer, GPCS §11.1.5.2)."""
        return exchange(self.se.transmit, raw, fix_le=False)

    def _post(
        self, conn: http.client.HTTPConnection, uri: str, body: bytes, resume: bool, lose_reply: bool = False
    ) -> http.client.HTTPResponse | None:
        headers = {H_PROTOCOL: PROTOCOL, H_FROM: self.agent_id}
        if body:
            headers["Content-Type"] = CONTENT_TYPE_RESPONSE
            headers[H_SCRIPT_STATUS] = "ok"
        if resume:
            headers[H_RESUME] = "true"
        conn.request("POST", uri, body=body, headers=headers)
        if lose_reply:
            return None
        return conn.getresponse()

    def _resume(
        self, uri: str, body: bytes, report: AgentReport, first: Exception | None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, bytes]:
        """Post ``body`` to ``uri`` again with X-Admin-Resume: true until the TSM answers."""
        pause, last = RESUME_PAUSE, first
        for _ in range(RESUME_ATTEMPTS):
            conn = self._connection()
            try:
                answer = self._post(conn, uri, body, resume=True)
                assert answer is not None
                payload = answer.read()
                report.resumed += 1
                return conn, answer, payload
            except ssl.SSLError as exc:
                conn.close()
                raise TsmProtocolError(f"TLS with the TSM failed while resuming: {exc}") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                last = exc
                time.sleep(pause)
                pause *= 2
        raise AgentDisconnected(
            f"TSM connection broke after {len(report.scripts)} script(s) and the session could not be "
            "resumed: "
            f"{last!r}"
        )

    def run(self, admin_uri: str, interrupt: Interrupt | None = None) -> AgentReport:
        report = AgentReport()
        conn = self._connection()
        uri, body = admin_uri, b""
        try:
            try:
                answer = self._post(conn, uri, body, resume=False)
                assert answer is not None
                payload = answer.read()
            except ssl.SSLError as exc:
                raise TsmProtocolError(f"TLS with the TSM failed: {exc}") from None
            except (OSError, http.client.HTTPException) as exc:
                if not report.scripts and isinstance(exc, ConnectionRefusedError):
                    raise AgentDisconnected(f"TSM connection broke after 0 script(s): {exc!r}") from None
                conn.close()
                conn, answer, payload = self._resume(uri, body, report, exc)
            for n in range(1, MAX_SCRIPTS + 1):
                if answer.status == 204:
                    return report
                report.bodies.append(payload)
                commands = self._script(answer, payload)
                uri = answer.getheader(H_NEXT_URI) or ""
                if not uri:
                    raise TsmProtocolError(f"script {n} came without {H_NEXT_URI}: where to post is unknown")
                report.scripts.append(commands)
                report.targets.append(answer.getheader(H_TARGET, ""))
                responses = []
                for raw in commands:
                    r = self._exchange(raw)
                    responses.append(r)
                    if is_error(int.from_bytes(r[-2:], "big")):
                        break
                report.responses.append(responses)
                body = encode_responses(responses)
                what = interrupt(n) if interrupt is not None else None
                try:
                    if what == "lose-request":
                        raise ConnectionResetError("the kit dropped the connection before posting (test)")
                    answer_or_none = self._post(
                        conn, uri, body, resume=False, lose_reply=what == "lose-reply"
                    )
                    if answer_or_none is None:
                        raise ConnectionResetError("the kit dropped the connection before the reply (test)")
                    answer = answer_or_none
                    payload = answer.read()
                except ssl.SSLError as exc:
                    raise TsmProtocolError(f"TLS with the TSM failed: {exc}") from None
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn, answer, payload = self._resume(uri, body, report, exc)
            raise TsmProtocolError(f"TSM sent more than {MAX_SCRIPTS} scripts without ending the session")
        finally:
            conn.close()

    @staticmethod
    def _script(answer: http.client.HTTPResponse, payload: bytes) -> list[bytes]:
        if answer.status != 200:
            raise TsmProtocolError(f"TSM answered HTTP {answer.status}: {payload[:200]!r}")
        ctype = answer.getheader("Content-Type", "")
        if ctype.replace(" ", "") != CONTENT_TYPE_SCRIPT:
            raise TsmProtocolError(f"TSM script has content type {ctype!r}, {CONTENT_TYPE_SCRIPT} expected")
        try:
            return decode_commands(payload)
        except ScriptError as exc:
            raise TsmProtocolError(f"TSM command script does not parse: {exc}") from None
