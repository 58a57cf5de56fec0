"""The reference TSM (jpkikit.reference.tsm) end to end over loopback HTTP: the kit's admin agent drives
emulator SEs through the flows of seed 004 pp.15-26 (docs/spec/system.md) with the simulated J-LIS back
end."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from jpkikit.host.admin_agent import AdminAgent, AgentError
from jpkikit.host.link import InProcessTransport
from jpkikit.host.tsm_driver import TsmClient, TsmRefused, signed_application, unblock_with_temp_pin
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.reference.persona import load_persona
from jpkikit.reference.tsm import TsmHttpServer
from jpkikit.reference.tsm.wiring import start_reference_tsm
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.jpki.card import JPKI_AID


class Phone:
    def __init__(self, tsm_url: str, personality: str = "gp-se") -> None:
        self.card = Card(get_personality(personality))
        self.link = InProcessTransport(self.card)
        self.link.reset()
        self.agent = AdminAgent(self.link, tsm_url)

    @property
    def applet(self) -> Any:
        return self.card.registry[JPKI_AID].applet

    def se_id(self) -> str:
        return self.applet.data["se_id"]


@pytest.fixture
def tsm(tmp_path: Path) -> Iterator[TsmHttpServer]:
    server = start_reference_tsm(tmp_path / "jlis.sqlite")
    yield server
    server.stop()


def _application(operation: str) -> dict[str, str]:
    persona = load_persona()
    return signed_application(persona.certs["sign"], persona.private_key("sign"), {"type": operation})


def _run(tsm: TsmHttpServer, phone: Phone, operation: str, **fields: Any) -> dict[str, Any]:
    client = TsmClient(tsm.url)
    doc = fields if operation in ("revoke",) else {**_application(operation), **fields}
    order = client.order(operation, **doc)
    phone.agent.run(order["admin_uri"])
    return client.order_state(order["order"])


def test_first_issuance_and_pin_setting(tsm: TsmHttpServer) -> None:
    phone = Phone(tsm.url)
    state = _run(tsm, phone, "issue")
    assert state["state"] == "done", state
    result = state["result"]
    assert result["se_id"] == phone.se_id()
    backend = tsm.tsm.backend
    for kind, new_pin in (("auth", b"4321"), ("sign", b"NEWPASS9")):
        cert = backend.certificate(result["certificates"][kind])
        assert cert.status == "valid" and cert.se_id == phone.se_id()
        temp = bytes.fromhex(result["temp_pins"][kind])
        assert unblock_with_temp_pin(phone.link, JPKI_AID, kind, temp, new_pin) == 0x9000
    # the auth key signs after VERIFY with the new PIN, and the certificate on the SE is the issued one
    link = phone.link
    assert ResponseApdu.parse(link.transmit(bytes.fromhex("0020009804") + b"4321")).sw == 0x9000
    link.transmit(bytes.fromhex("00A4020C020017"))
    sig = ResponseApdu.parse(
        link.transmit(CommandApdu(0x80, 0x2A, 0, 0x80, _digest_info(), ne=256).to_bytes())
    )
    issued = x509.load_der_x509_certificate(backend.certificate(result["certificates"]["auth"]).der)
    key = issued.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(sig.data, bytes(32), padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    assert (
        bytes.fromhex(phone.applet.data["files"]["000A"])
        == backend.certificate(result["certificates"]["auth"]).der
    )


def _digest_info() -> bytes:
    return bytes.fromhex("3031300d060960864801650304020105000420") + bytes(32)


def test_double_issuance_pin_init_and_device_change(tsm: TsmHttpServer) -> None:
    old, new = Phone(tsm.url), Phone(tsm.url, "sim")
    assert _run(tsm, old, "issue")["state"] == "done"
    again = _run(tsm, old, "issue")
    assert again["state"] == "failed" and again["reason"] == "double-issuance"
    # PIN initialisation: the bound SE gets a fresh temp PIN; another SE is refused before any PIN command
    first = _run(tsm, old, "pin-init")
    second = _run(tsm, old, "pin-init")
    assert first["state"] == second["state"] == "done"
    assert first["result"]["temp_pins"]["auth"] != second["result"]["temp_pins"]["auth"]
    refused = _run(tsm, new, "pin-init")
    assert refused["state"] == "failed" and refused["reason"] == "se-not-bound"
    assert not any(r.get("temp") for r in new.applet.data["pins"].values())
    # device change: confirmation needed; then the old device is revoked and deleted remotely
    unconfirmed = _run(tsm, new, "issue")
    assert unconfirmed["state"] == "failed" and unconfirmed["reason"] == "confirmation-needed"
    tsm.tsm.push_targets[old.se_id()] = lambda se_id, uri: (old.agent.run(uri), True)[1]
    moved = _run(tsm, new, "issue", confirm_revoke_old=True)
    assert moved["state"] == "done", moved
    tsm.tsm.wait_idle()
    assert tsm.tsm.deletions == [{"se_id": old.se_id(), "outcome": "deleted", "why": None}]
    assert old.applet.data["keys"] == {}
    backend = tsm.tsm.backend
    assert {backend.status(s) for s in first["result"].get("revoked", [])} <= {"revoked"}
    card_serial = backend.certificate(moved["result"]["certificates"]["auth"]).card_serial
    statuses = {(c.se_id, c.status) for c in backend.phone_certificates(card_serial)}
    assert statuses == {(old.se_id(), "revoked"), (new.se_id(), "valid")}


def test_failed_push_is_recorded_not_deleted(tsm: TsmHttpServer) -> None:
    old, new = Phone(tsm.url), Phone(tsm.url)
    assert _run(tsm, old, "issue")["state"] == "done"

    def offline(se_id: str, uri: str) -> bool:
        raise ConnectionError("FCM token invalid")

    tsm.tsm.push_targets[old.se_id()] = offline
    assert _run(tsm, new, "issue", confirm_revoke_old=True)["state"] == "done"
    tsm.tsm.wait_idle()
    (outcome,) = tsm.tsm.deletions
    assert outcome["outcome"] == "not deleted" and "FCM token invalid" in outcome["why"]
    assert old.applet.data["keys"] != {}  # really not deleted, and reported so


def test_renewal_suspension_revocation_from_phone_and_crl(tsm: TsmHttpServer) -> None:
    phone = Phone(tsm.url)
    issued = _run(tsm, phone, "issue")["result"]["certificates"]
    renewed = _run(tsm, phone, "renew")
    assert renewed["state"] == "done"
    assert set(renewed["result"]["revoked"]) == set(issued.values())
    client = TsmClient(tsm.url)
    auth = renewed["result"]["certificates"]["auth"]
    assert client.json("POST", f"/certificates/{auth}/suspend")["status"] == "suspended"
    status, crl = client.request("GET", "/crl/auth")
    assert status == 200
    assert x509.load_der_x509_crl(crl).get_revoked_certificate_by_serial_number(int(auth, 16)) is not None
    assert client.json("POST", f"/certificates/{auth}/release")["status"] == "valid"
    with pytest.raises(TsmRefused) as exc:
        client.json("POST", f"/certificates/{auth}/release")
    assert exc.value.reason == "bad-state"
    gone = _run(tsm, phone, "revoke")
    assert gone["state"] == "done" and set(gone["result"]["revoked"]) == set(
        renewed["result"]["certificates"].values()
    )
    assert phone.applet.data["keys"] == {}


def test_bad_applications_are_refused_over_http(tsm: TsmHttpServer) -> None:
    client = TsmClient(tsm.url)
    doc = _application("issue")
    doc["signature"] = "00" + doc["signature"][2:]
    with pytest.raises(TsmRefused) as exc:
        client.order("issue", **doc)
    assert exc.value.status == 403 and exc.value.reason == "bad-application-signature"


class GarbageOnGenerate(InProcessTransport):
    def transmit(self, command: bytes) -> bytes:
        answer = super().transmit(command)
        if len(command) > 1 and command[1] == 0x14 and command[0] & 0x80:
            return bytes(range(40)) + b"\x90\x00"  # garbage where the wrapped public key and R belong
        return answer


def test_se_answering_garbage_gives_a_clear_failure_and_no_certificate(tsm: TsmHttpServer) -> None:
    phone = Phone(tsm.url)
    phone.link = GarbageOnGenerate(phone.card)
    phone.link.reset()
    phone.agent = AdminAgent(phone.link, tsm.url)
    state = _run(tsm, phone, "issue")
    assert state["state"] == "failed" and state["reason"] in ("se-garbage", "se-error"), state
    assert state["error"]
    card_serial = tsm.tsm.backend.check_application(
        *[bytes.fromhex(v) for v in _application("x").values()]
    ).serial
    assert tsm.tsm.backend.phone_certificates(card_serial) == []


def test_tsm_dropping_the_connection_is_a_clear_agent_error() -> None:
    class Drop(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.connection.close()  # dies mid-session

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        phone = Phone(f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(AgentError, match="TSM connection broke after 0 script"):
            phone.agent.run("/ram/x")
    finally:
        server.shutdown()
        server.server_close()


def test_amendment_b_headers_and_content_types(tsm: TsmHttpServer) -> None:
    client = TsmClient(tsm.url)
    order = client.order("issue", **_application("issue"))
    status, body = client.request("POST", order["admin_uri"])  # no X-Admin-Protocol header
    assert status == 400 and b"X-Admin-Protocol" in body
    import http.client

    from jpkikit.vocab.gp.ram_script import CONTENT_TYPE_SCRIPT, H_PROTOCOL, PROTOCOL, decode_commands

    conn = http.client.HTTPConnection("127.0.0.1", tsm.server_address[1], timeout=10)
    conn.request("POST", order["admin_uri"], body=b"", headers={H_PROTOCOL: PROTOCOL, "X-Admin-From": "t"})
    answer = conn.getresponse()
    script = decode_commands(answer.read())
    conn.close()
    assert answer.status == 200 and answer.getheader("Content-Type") == CONTENT_TYPE_SCRIPT
    assert answer.getheader("X-Admin-Next-URI") == order["admin_uri"]
    assert [c[1] for c in script] == [0xA4, 0x50]  # SELECT the JPKI applet, INITIALIZE UPDATE


class RefusesTempPin(InProcessTransport):
    def transmit(self, command: bytes) -> bytes:
        if len(command) > 1 and command[1] == 0x18 and command[0] & 0x80:
            return b"\x6a\x80"
        return super().transmit(command)


def test_a_refused_temporary_pin_leaves_no_secret_in_the_outcome(tsm: TsmHttpServer) -> None:
    phone = Phone(tsm.url)
    phone.link = RefusesTempPin(phone.card)
    phone.link.reset()
    phone.agent = AdminAgent(phone.link, tsm.url)
    state = _run(tsm, phone, "issue")
    assert state["state"] == "failed" and state["reason"] == "se-error"
    assert "80 18" in state["error"] and "temp_pins" not in state["result"]


def test_serve_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from jpkikit.reference.tsm.__main__ import main

    stop = threading.Event()
    done: list[int] = []
    runner = threading.Thread(target=lambda: done.append(main(["--port", "0"], stop)), daemon=True)
    runner.start()
    for _ in range(100):
        url = capsys.readouterr().out.strip()
        if url:
            break
        threading.Event().wait(0.05)
    assert url.startswith("http://127.0.0.1:")
    phone = Phone(url)
    client = TsmClient(url)
    order = client.order("issue", **_application("issue"))
    phone.agent.run(order["admin_uri"])
    assert client.order_state(order["order"])["state"] == "done"
    stop.set()
    runner.join(10)
    assert done == [0]
