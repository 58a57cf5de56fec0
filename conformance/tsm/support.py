"""The harness for a TSM under test (class tsm): the kit plays the JPKI app (it signs applications with test
cards it issues under ``ixit.tsm.card_ca``, a new card per test, and puts the SE's commitment S in them),
the handset's admin agent (GP Amendment B over TLS, jpkikit.host.admin_agent), the SE (an observing
emulator SE the seam provides: jpkikit.reference.emulator.observed_se), J-LIS's notices, the call centre,
the SP towards the SEI-TSM and the handset maker's server. Everything but Amendment B goes through the
profile's TSM adapter (ixit.tsm.adapter; the kit's order API by default, jpkikit.host.tsm_adapter).

Remote deletion (seed 004 p.25) wakes a device through the order's ``push_url``: the harness runs a push
receiver (the stand-in for FCM and the app) that starts the addressed phone's agent session, or answers
503 when that phone is "offline".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.errors import KitError, ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.harness.seam import in_process_timeout, kit_se, tsm_under_test
from jpkikit.host.admin_agent import AdminAgent, AgentReport, Interrupt, TsmProtocolError
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.host.test_pki import COPIED, TestCa, mint_card
from jpkikit.host.tsm_adapter import OrderOutcome, TsmAdapter, TsmRefused
from jpkikit.host.tsm_driver import SignedApplication, application, sign
from jpkikit.vocab.iso7816.apdu import ResponseApdu
from jpkikit.vocab.jpki import provisioning as prov

from ..provisioning.support import apsd_keys, level

KINDS = ("auth", "sign")


@dataclass(frozen=True)
class TestCard:
    """A My Number card of the test environment: its signature certificate and key."""

    __test__ = False

    der: bytes
    key: rsa.RSAPrivateKey

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @property
    def serial(self) -> int:
        return self.certificate.serial_number


@dataclass(frozen=True)
class Run:
    """What came of one request: refused at once (``refused``), or the order's outcome after its session."""

    outcome: OrderOutcome | None
    refused: TsmRefused | None = None
    report: AgentReport | None = None
    broken: str | None = None  # the TSM broke the Amendment B session (TsmProtocolError): what it did

    @property
    def done(self) -> bool:
        return self.outcome is not None and self.outcome.done

    @property
    def result(self) -> dict[str, Any]:
        return self.outcome.result if self.outcome is not None else {}

    def why(self) -> str:
        if self.refused is not None:
            return f"refused: {self.refused}"
        assert self.outcome is not None
        broken = f"; the session broke: {self.broken}" if self.broken else ""
        return f"{self.outcome.state} ({self.outcome.reason}: {self.outcome.error}){broken}"


class Phone:
    """A phone: the kit's SE (observed), its admin agent, and the app's own commands on the SE."""

    def __init__(self, harness: TsmHarness, se_id: bytes | None = None, **options: Any) -> None:
        self.se_id_bytes = se_id or os.urandom(prov.SE_ID_LENGTH)
        self.card, self.obs = kit_se(harness.profile, se_id=self.se_id_bytes.hex().upper(), **options)
        # bounded in the main thread only: a session a push starts runs in the push receiver's thread
        bound = in_process_timeout(harness.profile)
        self.session = CardSession(InProcessTransport(self.card, "kit SE for the TSM", timeout=bound))
        self.session.reset()
        self.agent = AdminAgent(self.session.tracer, harness.url, tls=harness.tls)
        self.jpki_aid = harness.profile.ixit.aids.jpki
        self.online = True
        self.reports: list[AgentReport] = []
        self._sessions = threading.Lock()

    def run_session(self, admin_uri: str, interrupt: Interrupt | None = None) -> AgentReport:
        """One Amendment B session of this phone's agent. A phone runs one at a time: a session a push
        starts (a remote deletion) waits for the one in progress, as two sessions would interleave their
        commands on the one SE and break each other's secure channel."""
        with self._sessions:
            report = self.agent.run(admin_uri, interrupt)
            self.reports.append(report)
            return report

    @property
    def se_id(self) -> str:
        return self.se_id_bytes.hex().upper()

    @property
    def applet(self) -> Any:
        entry = self.card.registry.get(self.jpki_aid)  # type: ignore[attr-defined]
        return entry.applet if entry is not None else None

    def has_keys(self) -> bool:
        return self.applet is not None and bool(self.applet.data["keys"])

    def commit(self, kind: str) -> bytes:
        """The app asks the SE for S = H[R] before the card signs (seed 004 p.15)."""
        self.session.select(self.jpki_aid)
        r = self.session.transmit(prov.commit(prov.SLOT_NAMES[kind]))
        assert r.sw == 0x9000 and len(r.data) == 32, f"the kit's SE refused COMMIT: {r}"
        return r.data

    def unblock(self, kind: str, temp: bytes, new: bytes) -> int:
        """The app's unblock with the temporary PIN (seed 004 p.17 ㉛)."""
        from jpkikit.host.provisioning_adapter import PIN_P2

        self.session.select(self.jpki_aid)
        return int(self.session.transmit(prov.unblock_pin(PIN_P2[kind], temp, new)).sw)

    def verify(self, kind: str, pin: bytes) -> int:
        ef = {"auth": 0x0018, "sign": 0x001B}[kind]
        self.session.select(self.jpki_aid)
        self.session.send(0x00, 0xA4, 0x02, 0x0C, ef.to_bytes(2, "big"))
        return int(self.session.send(0x00, 0x20, 0x00, 0x80, pin).sw)

    def writes(self, since: int = 0) -> list[int]:
        """The INS of the commands that wrote to the SE, from the ``since``-th provisioning command on."""
        return [ins for ins, _ in self.obs.provisioning[since:] if ins in prov.WRITE_INS]


class TsmHarness:
    def __init__(self, profile: Profile, endpoint: Any) -> None:
        self.profile = profile
        self.required_level = level(profile)
        self.url, self.tls, self.endpoint = endpoint.url, endpoint.tls, endpoint
        self.tsm: TsmAdapter = endpoint.adapter
        self.phones: dict[str, Phone] = {}
        self.push = _PushReceiver(self)
        self.off_card = bool(profile.ics.tsm and profile.ics.tsm.key_generation == "off-card")
        self._card_ca = _card_ca(profile)
        applicant = profile.ixit.applicant
        if applicant is None:
            raise ProfileError(str(profile.path), "ixit.applicant", "a TSM profile needs the test card's key")
        self.applicant_der = _der(profile.resource(applicant.certificate))
        self.card_key = _private_key(profile.secret(applicant.key).reveal())

    def close(self) -> None:
        self.push.stop()

    # -- the test environment -----------------------------------------------------------------------------

    def phone(self, **options: Any) -> Phone:
        if self.off_card:
            options.setdefault("key_delivery", True)  # the SIM design's SE takes delivered keys
        p = Phone(self, **options)
        self.phones[p.se_id] = p
        return p

    def new_card(self, **mint: Any) -> TestCard:
        """A new card of the test environment under the card CA (``mint``: serial, not_before, not_after)."""
        if self._card_ca is None:
            if mint:
                pytest.skip("ixit.tsm.card_ca is not given: the kit cannot issue expired or look-alike cards")
            return TestCard(self.applicant_der, self.card_key)
        ca_cert, ca_key = self._card_ca
        like = x509.load_der_x509_certificate(self.applicant_der)
        return TestCard(mint_card(ca_cert, ca_key, self.card_key, like, **mint), self.card_key)

    def foreign_card(self, like: TestCard) -> TestCard:
        """A card certificate like ``like`` (same subject, serial, key) from a CA the TSM must not trust."""
        ca = TestCa.generate("not the card CA")
        cert = like.certificate
        forged = ca.issue(
            self.card_key.public_key(),
            cert.subject,
            serial=cert.serial_number,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            extensions=[e for e in cert.extensions if e.oid in COPIED],
        )
        return TestCard(forged.public_bytes(serialization.Encoding.DER), self.card_key)

    def application(
        self, card: TestCard, operation: str, phone: Phone | None = None, **extra: Any
    ) -> SignedApplication:
        """The app's application for ``operation`` signed by ``card``; for issuance on a GP-SE, with the S
        the phone's SE gave for each kind (seed 004 p.15)."""
        s = None
        if operation in ("issue", "renew") and phone is not None and not self.off_card:
            s = {kind: phone.commit(kind) for kind in KINDS}
        return sign(card.der, card.key, application(operation, s, **extra))

    # -- requests ------------------------------------------------------------------------------------------

    def run(
        self,
        phone: Phone | None,
        operation: str,
        card: TestCard | None = None,
        signed: SignedApplication | None = None,
        interrupt: Interrupt | None = None,
        **fields: Any,
    ) -> Run:
        if signed is None and card is not None:
            signed = self.application(card, operation, phone)
        try:
            submitted = self.tsm.submit(operation, signed, push_url=self.push.url, **fields)
        except TsmRefused as exc:
            return Run(None, exc)
        report, broken = None, None
        if submitted.admin_uri:
            assert phone is not None, f"{operation} opened an Amendment B session but no phone takes part"
            try:
                report = phone.run_session(submitted.admin_uri, interrupt)
            except TsmProtocolError as exc:  # an outcome the test judges (what reached the SE, the order)
                broken = str(exc)
        return Run(self.tsm.outcome(submitted.order), None, report, broken)

    def issue(self, phone: Phone, card: TestCard, **fields: Any) -> Run:
        run = self.run(phone, "issue", card, **fields)
        assert run.done, f"issuance: the TSM's order ended {run.why()}"
        return run

    def crl(self, kind: str) -> x509.CertificateRevocationList:
        return x509.load_der_x509_crl(self.tsm.crl(kind))

    def on_crl(self, serial: str, kind: str = "auth") -> x509.RevokedCertificate | None:
        return self.crl(kind).get_revoked_certificate_by_serial_number(int(serial, 16))

    def wait_for(self, condition: Any, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return True
            time.sleep(0.05)
        return bool(condition())


def certificate_serials(phone: Phone) -> dict[str, str]:
    """The serials of the last certificate the TSM wrote into each slot of ``phone``."""
    out = {}
    for p2, der in phone.obs.certificates:
        if p2 in (prov.SLOT_AUTH, prov.SLOT_SIGN):
            out[KINDS[p2 - 1]] = f"{x509.load_der_x509_certificate(der).serial_number:X}"
    return out


def _der(raw: bytes) -> bytes:
    if raw.startswith(b"-----"):
        return x509.load_pem_x509_certificate(raw).public_bytes(serialization.Encoding.DER)
    return raw


#: The profile's RSA keys as loaded, under the SHA-256 of their PEM (never the PEM itself): parsing an RSA
#: key checks it (about 15 ms), and every test's harness needs the card's key and the card CA's.
_KEYS: dict[bytes, rsa.RSAPrivateKey] = {}
_KEYS_LOCK = threading.Lock()


def _private_key(pem: str) -> rsa.RSAPrivateKey:
    data = pem.encode()
    digest = hashlib.sha256(data).digest()
    with _KEYS_LOCK:
        if digest not in _KEYS:
            key = serialization.load_pem_private_key(data[data.index(b"-----BEGIN") :], None)
            assert isinstance(key, rsa.RSAPrivateKey)
            _KEYS[digest] = key
        return _KEYS[digest]


def _card_ca(profile: Profile) -> tuple[x509.Certificate, rsa.RSAPrivateKey] | None:
    ixit = profile.ixit.tsm
    if ixit is None or ixit.card_ca is None:
        return None
    cert = x509.load_der_x509_certificate(_der(profile.resource(ixit.card_ca.certificate)))
    return cert, _private_key(profile.secret(ixit.card_ca.key).reveal())


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class _PushReceiver:
    def __init__(self, harness: TsmHarness) -> None:
        outer = harness

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                phone = outer.phones.get(str(doc.get("se_id", "")).upper())
                if phone is None or not phone.online:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:  # the app wakes the agent, which runs the TSM's session before the push is answered
                    phone.run_session(doc["admin_uri"])
                    code = 200
                except KitError:
                    code = 502
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/push"
        # a short poll: stop() waits for serve_forever to see its shutdown flag (socketserver polls every
        # 0.5 s by default: half a second per test that stops one)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def harness(profile: Profile, tmp_path: Path) -> Iterator[TsmHarness]:
    if not (profile.ics.tsm and profile.ics.tsm.present):
        pytest.skip("ics.tsm.present is not claimed")
    with tsm_under_test(profile, tmp_path, apsd_keys(profile), level(profile)) as endpoint:
        h = TsmHarness(profile, endpoint)
        try:
            yield h
        finally:
            h.close()


def parse(answers: list[bytes]) -> list[ResponseApdu]:
    return [ResponseApdu.parse(a) for a in answers]
