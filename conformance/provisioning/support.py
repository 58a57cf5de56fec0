"""Host side of the provisioning conformance tests (class gp-se / sim): the kit's reference TSM and
simulated J-LIS back end drive the SE under test over loopback HTTP through the kit's admin agent; the tests
also talk to the applet directly with the profile's APSD key set (ixit.gp.keysets, sd: apsd) at the level
the profile claims (ics.provisioning.scp03_level).

The flows change the SE (keys generated, certificates written, PINs set). When the kit runs the
implementation in-process (ixit.transport.kind emulator), each test gets a fresh card so the other areas
keep the card they expect; on any other implementation the tests run on the device itself and
:func:`restore_pins` leaves the PINs at the profile's test values (ixit.secrets.auth_pin / sign_pin).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.harness.seam import fresh_link, reference_tsm
from jpkikit.host.admin_agent import AdminAgent
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.host.tsm_driver import TsmClient, signed_application, unblock_with_temp_pin
from jpkikit.secrets import Secret, reveal_bytes
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.scp03 import StaticKeys


def level(profile: Profile) -> int:
    if profile.ics.provisioning is None:
        raise ProfileError(str(profile.path), "ics.provisioning", "not given")
    return profile.ics.provisioning.scp03_level


def apsd_aid(profile: Profile) -> bytes:
    aid = profile.ixit.gp.apsd if profile.ixit.gp else None
    if aid is None:
        raise ProfileError(str(profile.path), "ixit.gp.apsd", "ics.provisioning needs the APSD's AID")
    return aid


def apsd_keys(profile: Profile) -> StaticKeys:
    ks = profile.keyset("apsd")
    if ks is None:
        raise ProfileError(str(profile.path), "ixit.gp.keysets", "ics.provisioning needs an apsd key set")
    return profile.keys(ks)


def applicant(profile: Profile) -> tuple[x509.Certificate, Any]:
    """The test card whose signature key signs the applications (ixit.applicant): certificate, key."""
    given = profile.ixit.applicant
    if given is None:
        pytest.fail("the profile gives no ixit.applicant (the test card that signs applications)")
    raw = profile.resource(given.certificate)
    cert = (
        x509.load_pem_x509_certificate(raw)
        if raw.startswith(b"-----")
        else x509.load_der_x509_certificate(raw)
    )
    pem = profile.secret(given.key).reveal().encode()
    key = serialization.load_pem_private_key(pem[pem.index(b"-----BEGIN") :], None)
    return cert, key


def signed(profile: Profile, application: dict[str, Any]) -> dict[str, Any]:
    """Order fields: ``application`` signed with the applicant card's signature key (seed 004 p.15 step ②)."""
    cert, key = applicant(profile)
    return signed_application(cert.public_bytes(serialization.Encoding.DER), key, application)


def se_session(card: CardSession, profile: Profile) -> Any:
    """The test's card session; a new card for the duration on the in-process emulator (the seam)."""
    return fresh_link(profile, card)


def open_applet(se: CardSession, profile: Profile, at_level: int | None = None) -> Scp03Layer:
    """SELECT the JPKI applet and open SCP03 with the APSD key set through it."""
    r = se.select(profile.ixit.aids.jpki)
    assert r.sw == 0x9000, f"SELECT of the JPKI applet answered {r}"
    layer = Scp03Layer(se.tracer, apsd_keys(profile), sd_aid=apsd_aid(profile))
    layer.open(level(profile) if at_level is None else at_level)
    return layer


class Flows:
    """The reference TSM on loopback, the back end in ``tmp``, the kit's agent on the SE under test."""

    def __init__(self, server: Any, se: CardSession, profile: Profile) -> None:
        self.server, self.se, self.profile = server, se, profile
        self.client = TsmClient(server.url)
        self.agent = AdminAgent(se.tracer, server.url)

    @property
    def backend(self) -> Any:
        return self.server.tsm.backend

    def run(self, operation: str, **fields: Any) -> dict[str, Any]:
        if operation in ("issue", "renew", "pin-init"):
            fields = {**signed(self.profile, {"type": operation}), **fields}
        order = self.client.order(operation, **fields)
        self.agent.run(order["admin_uri"])
        return self.client.order_state(order["order"])

    def issue(self) -> dict[str, Any]:
        state = self.run("issue")
        assert state["state"] == "done", f"issuance through the reference TSM failed: {state['error']}"
        return state["result"]

    def set_pins(self, result: dict[str, Any], pins: dict[str, Secret]) -> None:
        for kind, pin in pins.items():
            temp = temp_pin(result, kind)
            sw = unblock_with_temp_pin(self.se.tracer, self.profile.ixit.aids.jpki, kind, temp, pin)
            assert sw == 0x9000, f"RESET RETRY COUNTER with the temporary {kind} PIN answered {sw:04X}"


def profile_pins(profile: Profile) -> dict[str, Secret]:
    return {k: profile.secret(f"{k}_pin") for k in ("auth", "sign")}


def temp_pin(result: dict[str, Any], kind: str) -> Secret:
    """The temporary PIN an order handed the app (seed 004 p.17): a secret of the run from then on."""
    return Secret.of_bytes(f"temporary {kind} PIN", bytes.fromhex(result["temp_pins"][kind]))


@contextmanager
def flows(card: CardSession, profile: Profile, tmp_path: Path) -> Iterator[Flows]:
    fresh = profile.ixit.transport.kind == "emulator"
    with se_session(card, profile) as se:
        server = reference_tsm(profile, tmp_path / "jlis.sqlite", apsd_keys(profile), level(profile))
        try:
            yield Flows(server, se, profile)
        finally:
            server.stop()
            if not fresh:
                restore_pins(card, profile, tmp_path)


def restore_pins(card: CardSession, profile: Profile, tmp_path: Path) -> None:
    """On a real device: a fresh issuance leaving the PINs at the profile's values (best effort)."""
    server = reference_tsm(profile, tmp_path / "restore.sqlite", apsd_keys(profile), level(profile))
    try:
        f = Flows(server, card, profile)
        f.set_pins(f.issue(), profile_pins(profile))
    finally:
        server.stop()


def reset_pin(card: CardSession, profile: Profile, kind: str) -> bool:
    """Put one PIN back to the profile's value and its counter at the maximum, blocked or not, through the
    provisioning command set's temporary-PIN sequence (seed 004 p.17): SET TEMPORARY PIN and BLOCK under
    SCP03 with the APSD key set, then the app's RESET RETRY COUNTER with it. False where the unit does not
    offer the command set (the PIN stays as it is)."""
    claims = profile.ics.provisioning
    if claims is None or not claims.present or profile.keyset("apsd") is None:
        return False
    temp = Secret.of_bytes(f"temporary {kind} PIN set to restore it", os.urandom(16))
    layer = open_applet(card, profile)
    slot = se.SLOT_NAMES[kind]
    ok = layer.send(se.set_temp_pin(slot, reveal_bytes(temp))).ok and layer.send(se.block_pin(slot)).ok
    layer.end()
    if not ok:
        return False
    pin = profile.secret(f"{kind}_pin")
    return unblock_with_temp_pin(card.tracer, profile.ixit.aids.jpki, kind, temp, pin) == 0x9000
