"""The reference TSM (jpkikit.reference.tsm) end to end over loopback HTTP(S): the kit's admin agent and
order-API adapter drive emulator SEs through the flows of seed 004 pp.13-26 (docs/spec/system.md) with the
simulated J-LIS back end; sessions resumed after an interruption and after the TSM was killed; TLS."""

from __future__ import annotations

import http.server
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from jpkikit.errors import NonConformance, TransportError
from jpkikit.harness.verdict import verdict_of
from jpkikit.host import admin_agent
from jpkikit.host.admin_agent import AdminAgent, AgentDisconnected, TsmProtocolError
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.host.test_pki import tls_pki
from jpkikit.host.tsm_adapter import KitOrderApi, TsmRefused
from jpkikit.host.tsm_driver import application, sign, unblock_with_temp_pin
from jpkikit.reference.emulator.observed_se import KitSeOptions, kit_se
from jpkikit.reference.persona import load_persona
from jpkikit.reference.tsm import TsmHttpServer, TsmOptions
from jpkikit.reference.tsm.wiring import emulator_sei_target, emulator_target, server_tls, start_reference_tsm
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.jpki.card import JPKI_AID

REPO = Path(__file__).resolve().parent.parent


class Phone:
    def __init__(self, url: str, tls: Any = None, personality: str = "gp-se", **options: Any) -> None:
        self.card, self.obs = kit_se(personality, JPKI_AID, KitSeOptions(**options))
        self.session = CardSession(InProcessTransport(self.card))
        self.session.reset()
        self.link = self.session.tracer
        self.agent = AdminAgent(self.link, url, tls=tls)

    @property
    def applet(self) -> Any:
        entry = self.card.registry.get(JPKI_AID)
        return entry.applet if entry is not None else None

    def se_id(self) -> str:
        self.session.select(JPKI_AID)
        return bytes(self.applet.se_id(self.card_context())).hex().upper()

    def card_context(self) -> Any:
        from jpkikit.reference.emulator.applet import Context

        return Context(self.card, 0, {})

    def commits(self) -> dict[str, bytes]:
        out = {}
        for kind in ("auth", "sign"):
            self.session.select(JPKI_AID)
            out[kind] = self.session.transmit(se.commit(se.SLOT_NAMES[kind])).data
        return out


def _signed(operation: str, phone: Phone | None = None, **extra: Any) -> Any:
    persona = load_persona()
    s = phone.commits() if phone is not None and operation in ("issue", "renew") else None
    return sign(persona.certs["sign"], persona.private_key("sign"), application(operation, s, **extra))


def _run(api: KitOrderApi, phone: Phone | None, operation: str, card: bool = True, **fields: Any) -> Any:
    signed = _signed(operation, phone) if card else None
    submitted = api.submit(operation, signed, **fields)
    if submitted.admin_uri:
        assert phone is not None
        phone.agent.run(submitted.admin_uri)
    return api.outcome(submitted.order)


@pytest.fixture
def tsm(tmp_path: Path) -> Iterator[TsmHttpServer]:
    server = start_reference_tsm(tmp_path / "tsm.sqlite", sei=emulator_sei_target())
    yield server
    server.stop()


def _digest_info() -> bytes:
    return bytes.fromhex("3031300d060960864801650304020105000420") + bytes(32)


def test_first_issuance_with_s_in_the_signed_application_and_pin_setting(tsm: TsmHttpServer) -> None:
    api, phone = KitOrderApi(tsm.url), Phone(tsm.url)
    state = _run(api, phone, "issue")
    assert state.done, state
    assert not phone.obs.secure_commits, "the reference TSM sent COMMIT itself"
    result = state.result
    assert result["se_id"] == phone.se_id()
    backend = tsm.tsm.backend
    for kind, new_pin in (("auth", b"4321"), ("sign", b"NEWPASS9")):
        cert = backend.certificate(result["certificates"][kind])
        assert cert.status == "valid" and cert.se_id == phone.se_id()
        temp = bytes.fromhex(result["temp_pins"][kind])
        assert unblock_with_temp_pin(phone.link, JPKI_AID, kind, temp, new_pin) == 0x9000
    link = phone.link
    link.transmit(bytes.fromhex("00A4040C0A") + JPKI_AID)
    link.transmit(bytes.fromhex("00A4020C020018"))
    assert link.transmit(bytes.fromhex("0020008004") + b"4321")[-2:] == b"\x90\x00"
    link.transmit(bytes.fromhex("00A4020C020017"))
    sig = link.transmit(CommandApdu(0x80, 0x2A, 0, 0x80, _digest_info(), ne=256).to_bytes())[:-2]
    issued = x509.load_der_x509_certificate(backend.certificate(result["certificates"]["auth"]).der)
    key = issued.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(sig, bytes(32), padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_double_issuance_pin_init_and_device_change(tsm: TsmHttpServer) -> None:
    api, old, new = KitOrderApi(tsm.url), Phone(tsm.url), Phone(tsm.url)
    assert _run(api, old, "issue").done
    again = _run(api, old, "issue")
    assert again.state == "failed" and again.reason == "double-issuance"
    first, second = _run(api, old, "pin-init"), _run(api, old, "pin-init")
    assert first.done and second.done
    assert first.result["temp_pins"]["auth"] != second.result["temp_pins"]["auth"]
    refused = _run(api, new, "pin-init")
    assert refused.state == "failed" and refused.reason == "se-not-bound"
    unconfirmed = _run(api, new, "issue")
    assert unconfirmed.state == "failed" and unconfirmed.reason == "confirmation-needed"
    tsm.tsm.store.set_push_target(old.se_id(), "http://push")
    pushed: list[tuple[str, str]] = []

    def push(url: str, se_id: str, uri: str) -> bool:
        pushed.append((url, se_id))
        old.agent.run(uri)
        return True

    tsm.tsm.push = push  # type: ignore[method-assign]
    moved = _run(api, new, "issue", confirm_revoke_old=True)
    assert moved.done, moved
    tsm.tsm.wait_idle()
    assert pushed == [("http://push", old.se_id())]
    assert api.deletions() == [{"se_id": old.se_id(), "outcome": "deleted", "why": None}]
    assert old.applet.data["keys"] == {}


def test_failed_push_is_recorded_not_deleted(tsm: TsmHttpServer) -> None:
    api, old, new = KitOrderApi(tsm.url), Phone(tsm.url), Phone(tsm.url)
    assert _run(api, old, "issue", push_url="http://127.0.0.1:9/push").done

    def offline(url: str, se_id: str, uri: str) -> bool:
        raise ConnectionError("FCM token invalid")

    tsm.tsm.push = offline  # type: ignore[method-assign]
    assert _run(api, new, "issue", confirm_revoke_old=True).done
    tsm.tsm.wait_idle()
    (outcome,) = api.deletions()
    assert outcome["outcome"] == "not deleted" and "FCM token invalid" in outcome["why"]
    assert old.applet.data["keys"] != {}  # really not deleted, and reported so


def test_renewal_suspension_release_revocation_and_crl(tsm: TsmHttpServer) -> None:
    api, phone = KitOrderApi(tsm.url), Phone(tsm.url)
    issued = _run(api, phone, "issue").result["certificates"]
    renewed = _run(api, phone, "renew")
    assert renewed.done and set(renewed.result["revoked"]) == set(issued.values())
    auth = renewed.result["certificates"]["auth"]
    api.suspend(auth)
    assert x509.load_der_x509_crl(api.crl("auth")).get_revoked_certificate_by_serial_number(int(auth, 16))
    released = api.submit("release", _signed("release", serial=auth), serial=auth)
    assert api.outcome(released.order).done and tsm.tsm.backend.status(auth) == "valid"
    with pytest.raises(TsmRefused) as exc:
        api.submit("release", _signed("release"), serial=auth)
    assert exc.value.reason == "bad-state"
    gone = _run(api, phone, "revoke", card=False)
    assert gone.done and set(gone.result["revoked"]) == set(renewed.result["certificates"].values())
    assert phone.applet.data["keys"] == {}


def test_bad_applications_are_refused_over_http(tsm: TsmHttpServer) -> None:
    api = KitOrderApi(tsm.url)
    signed = _signed("issue")
    bad = type(signed)(signed.card_certificate, signed.body + b" ", signed.signature)
    with pytest.raises(TsmRefused) as exc:
        api.submit("issue", bad)
    assert exc.value.status == 403 and exc.value.reason == "bad-application-signature"
    with pytest.raises(TsmRefused) as exc:
        api.submit("pin-init", signed)
    assert exc.value.reason == "wrong-operation"


def test_se_answering_garbage_gives_a_clear_failure_and_no_live_certificate(tsm: TsmHttpServer) -> None:
    api, phone = KitOrderApi(tsm.url), Phone(tsm.url, refuse_certificates=True)
    state = _run(api, phone, "issue")
    assert state.state == "failed" and state.reason == "se-error", state
    serial = tsm.tsm.backend.check_card(load_persona().certs["sign"]).serial_number
    live = tsm.tsm.backend.phone_certificates(f"{serial:X}", live_only=True)
    assert live == [], "a certificate the SE refused stayed live"
    assert _run(api, Phone(tsm.url), "issue").done  # nothing left behind: no confirmation needed


def test_the_sei_tsm_installs_deletes_and_resets(tsm: TsmHttpServer) -> None:
    api, phone = KitOrderApi(tsm.url), Phone(tsm.url, blank=True)
    assert phone.applet is None
    api.register_app_hashes(JPKI_AID, [bytes(range(32))])
    assert _run(api, phone, "install", card=False).done
    assert phone.applet is not None and _run(api, phone, "issue").done  # the SP-TSM provisions it
    assert _run(api, phone, "delete-applet", card=False).done and phone.applet is None
    assert _run(api, phone, "install", card=False).done
    assert _run(api, phone, "factory-reset", card=False).done and phone.applet is None


def test_sim_design_access_code_and_off_card_keys(tmp_path: Path) -> None:
    server = start_reference_tsm(tmp_path / "sim.sqlite", options=TsmOptions("off-card"))
    try:
        api, phone = KitOrderApi(server.url), Phone(server.url, personality="sim", key_delivery=True)
        code, password = api.request_access_code(_signed("access-code"))
        with pytest.raises(TsmRefused, match="bad-access-code"):
            api.submit("issue", access_code=code, password="wrong")
        state = _run(api, phone, "issue", card=False, access_code=code, password=password)
        assert state.done, state
        assert len(phone.obs.deliveries) == 2 and all(d.key is not None for d in phone.obs.deliveries)
        rows = server.tsm.store.store.query("SELECT value FROM tsm_journal")
        for d in phone.obs.deliveries:
            prime = d.key.private_numbers().p.to_bytes(128, "big").hex()  # type: ignore[union-attr]
            assert not any(prime in r["value"] for r in rows), "the journal holds a private key in clear"
    finally:
        server.stop()


@pytest.mark.parametrize("case", ["lose-request", "lose-reply"])
def test_an_interrupted_session_resumes(tsm: TsmHttpServer, case: str) -> None:
    api, phone = KitOrderApi(tsm.url), Phone(tsm.url)
    submitted = api.submit("issue", _signed("issue", phone))
    report = phone.agent.run(submitted.admin_uri or "", lambda n: case if n == 3 else None)
    assert report.resumed == 1 and api.outcome(submitted.order).done
    assert sum(1 for ins, _ in phone.obs.provisioning if ins == se.INS_SET_TEMP_PIN) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, port: int, tls: Any = None) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "jpkikit.reference.tsm", "--port", str(port), "--db", str(db)]
    if tls is not None:
        cmd += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None and proc.stdout.readline().strip().endswith(f":{port}")
    return proc


def test_killing_the_tsm_mid_flow_loses_nothing(tmp_path: Path) -> None:
    """The TSM process is killed (SIGKILL) in the middle of an issuance session and started again on the same
    database: the agent resumes, the order completes once, and the push target registered before the kill
    still wakes the old phone for the remote deletion after it.

    Decided by events, not by timing: the kill waits until the old phone's push (sent when the step that
    revoked the old device committed) has arrived, and the phone ignores every push that arrives before the
    restart (it died with the TSM that sent it), so only a push of the restarted TSM can delete the keys."""
    db, port = tmp_path / "tsm.sqlite", _free_port()
    procs = [_serve(db, port)]
    url = f"http://127.0.0.1:{port}"
    api, old, new = KitOrderApi(url), Phone(url), Phone(url)
    receiver = _PushReceiver(old)
    try:
        assert _run(api, old, "issue", push_url=receiver.url).done
        receiver.lose_until_killed = True

        def kill_and_restart(n: int) -> None:
            if n == 3:  # the key pairs were generated and the certificates written: kill, then restart
                assert receiver.arrived.wait(30), "the TSM never pushed the old phone's remote deletion"
                procs[-1].send_signal(signal.SIGKILL)
                procs[-1].wait()
                receiver.killed.set()
                procs.append(_serve(db, port))

        submitted = api.submit("issue", _signed("issue", new), confirm_revoke_old=True)
        report = new.agent.run(submitted.admin_uri or "", kill_and_restart)
        assert report.resumed >= 1
        state = api.outcome(submitted.order)
        assert state.done, state
        assert sum(1 for ins, _ in new.obs.provisioning if ins == se.INS_GENERATE_KEY) == 2, "keys made twice"
        assert deadline(lambda: api.deletions() != []), "the restarted TSM never pushed the deletion again"
        assert api.deletions() == [{"se_id": old.se_id(), "outcome": "deleted", "why": None}]
        assert old.applet.data["keys"] == {}
        assert receiver.sessions == 1, f"{receiver.sessions} deletion sessions started on the old phone"
    finally:
        receiver.stop()
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def deadline(condition: Any, timeout: float = 15.0) -> bool:
    """Poll an observable state (an outcome the TSM records) until it holds, within a bound."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


class _PushReceiver:
    """The old phone's app: a push wakes its agent, one session at a time (a phone runs one admin session
    at a time; two would interleave their APDUs on the one SE). With ``lose_until_killed``, a push that
    arrives before ``killed`` is only noted (``arrived``) and never answered: lost with the TSM that sent
    it."""

    def __init__(self, phone: Phone) -> None:
        self.arrived, self.killed, self.lose_until_killed, self.sessions = (
            threading.Event(),
            threading.Event(),
            False,
            0,
        )
        lock, outer = threading.Lock(), self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import json

                doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if outer.lose_until_killed and not outer.killed.is_set():
                    outer.arrived.set()
                    outer.killed.wait(30)  # the sender is dead by now: no answer reaches it
                    self.close_connection = True
                    return
                with lock:
                    # counted before the session starts, so before the TSM can record its outcome: a test
                    # that has seen the outcome sees the count (counted after, it raced the check)
                    outer.sessions += 1
                    phone.agent.run(doc["admin_uri"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/push"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_amendment_b_over_tls_with_the_kits_test_ca(tmp_path: Path) -> None:
    import ssl

    files = tls_pki(tmp_path / "tls")
    server = start_reference_tsm(tmp_path / "tls.sqlite", tls=server_tls(files.cert, files.key))
    try:
        assert server.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(files.ca))
        api, phone = KitOrderApi(server.url, trust), Phone(server.url, trust)
        assert _run(api, phone, "issue").done
        other = tls_pki(tmp_path / "other")
        stranger = ssl.create_default_context(cafile=str(other.ca))
        with pytest.raises(NonConformance, match="TLS with the TSM failed"):
            Phone(server.url, stranger).agent.run("/ram/x")
        with pytest.raises(TransportError):  # plain HTTP to the TLS port gets no HTTP answer
            KitOrderApi(server.url.replace("https", "http")).outcome("x")
    finally:
        server.stop()


def test_psk_tls_is_reported_when_this_python_lacks_it(tmp_path: Path) -> None:
    import ssl

    from jpkikit.errors import Inconclusive
    from jpkikit.harness.profile import load_profile
    from jpkikit.harness.seam import PSK_MISSING, client_tls

    profile = load_profile(REPO / "profiles" / "reference-tsm.yaml")
    psk = type(profile.ics.tsm)(**{**profile.ics.tsm.__dict__, "tls": "psk"})  # type: ignore[misc]
    object.__setattr__(profile.ics, "tsm", psk)
    if hasattr(ssl.SSLContext, "set_psk_client_callback"):
        pytest.skip("this Python's ssl has TLS-PSK")
    with pytest.raises(Inconclusive, match="set_psk_client_callback"):
        client_tls(profile, None)
    assert "Python 3.13" in PSK_MISSING


def test_protocol_faults_fail_and_a_silent_tsm_is_inconclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    class Garbage(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"\x01\x02\x03"
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.globalplatform.card-content-mgt;version=1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Silent(Garbage):
        def do_POST(self) -> None:
            time.sleep(3)

    monkeypatch.setattr(admin_agent, "RESUME_PAUSE", 0.01)
    for handler, error in ((Garbage, TsmProtocolError), (Silent, AgentDisconnected)):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            phone = Phone(f"http://127.0.0.1:{server.server_address[1]}")
            phone.agent.timeout = 0.3
            with pytest.raises(error) as exc:
                phone.agent.run("/ram/x")
            expected = "fail" if error is TsmProtocolError else "inconclusive"
            assert verdict_of("failed", "call", exc.value) == expected
        finally:
            server.shutdown()
            server.server_close()


def test_serve_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from jpkikit.reference.tsm.__main__ import main

    stop = threading.Event()
    done: list[int] = []
    runner = threading.Thread(target=lambda: done.append(main(["--port", "0"], stop)), daemon=True)
    runner.start()
    url = ""
    for _ in range(100):
        url = capsys.readouterr().out.strip()
        if url:
            break
        threading.Event().wait(0.05)
    assert url.startswith("http://127.0.0.1:")
    api, phone = KitOrderApi(url), Phone(url)
    assert _run(api, phone, "issue").done
    stop.set()
    runner.join(10)
    assert done == [0]


def test_emulator_target_defaults() -> None:
    target = emulator_target()
    assert target.level == 0x33 and target.jpki_aid == JPKI_AID
