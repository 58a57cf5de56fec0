"""Host side of the provisioning conformance tests (class gp-se / sim): the tests drive the SE under test
directly, through the profile's provisioning adapter (ixit.provisioning.adapter, by default the kit's
command set; jpkikit.host.provisioning_adapter), with the APSD key set (ixit.gp.keysets, sd apsd) at the
level the profile claims (ics.provisioning.scp03_level). No TSM takes part: where a certificate for a
generated key is needed, the kit issues it from a test CA it generates for the run.

The tests change the SE (keys generated, certificates written, PINs set). When the kit runs the
implementation in-process (ixit.transport.kind emulator), each test gets a fresh card so the other areas
keep the card they expect; on any other implementation the tests run on the device itself and
:func:`restore_pins` leaves the PINs at the profile's test values (ixit.secrets.auth_pin / sign_pin).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from jpkikit.errors import ProfileError
from jpkikit.harness.preflight import claimed_pairs
from jpkikit.harness.profile import Profile
from jpkikit.harness.seam import fresh_link, provisioning_adapter
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.host.provisioning_adapter import ProvisioningAdapter, Refused
from jpkikit.host.test_pki import TestCa
from jpkikit.secrets import Secret
from jpkikit.vocab.jpki.card import PAIRS, KeyPair
from jpkikit.vocab.scp03 import StaticKeys

PAIR = {p.name: p for p in PAIRS}  # auth / sign: PIN EF, key EF, certificate EF, CA EF (jpki-applet.md)


def held(profile: Profile) -> dict[str, KeyPair]:
    """The applet's key pairs by slot name: both, or "auth" alone where the applet has the
    user-authentication function only (ics.jpki.sign_function false; the SIM design)."""
    return {p.name: p for p in claimed_pairs(profile)}


def claimed(profile: Profile) -> None:
    if not (profile.ics.provisioning and profile.ics.provisioning.present):
        pytest.skip("ics.provisioning.present is not claimed")


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


def isd_keys(profile: Profile) -> StaticKeys:
    ks = profile.keyset("isd")
    if ks is None:
        raise ProfileError(str(profile.path), "ixit.gp.keysets", "this test needs an isd key set")
    return profile.keys(ks)


def adapter(se: CardSession, profile: Profile, isd: bool = False) -> ProvisioningAdapter:
    """The profile's adapter on ``se`` (the APSD key set; ``isd``: the ISD's, for an applet the ISD
    installed and has not handed over)."""
    if isd:
        gp = profile.ixit.gp
        assert gp is not None
        return provisioning_adapter(profile, se.tracer, isd_keys(profile), gp.isd, level(profile))
    return provisioning_adapter(profile, se.tracer, apsd_keys(profile), apsd_aid(profile), level(profile))


@functools.cache
def kit_ca() -> TestCa:
    """The run's phone-certificate CA (generated once per run; it certifies test keys only)."""
    return TestCa.generate("jpkikit provisioning test CA")


def profile_pins(profile: Profile) -> dict[str, Secret]:
    return {k: profile.secret(f"{k}_pin") for k in held(profile)}


def other_pin(pin: Secret) -> Secret:
    """A PIN of the same length and character set as ``pin`` and different in every place."""

    def shift(text: str) -> str:
        out = []
        for c in text:
            if c.isdigit():
                out.append(str((int(c) + 1) % 10))
            elif "A" <= c <= "Z":
                out.append(chr((ord(c) - 65 + 1) % 26 + 65))
            else:
                out.append(c)
        return "".join(out)

    return pin.derive("each character shifted", shift)


def temp_pin(label: str) -> Secret:
    return Secret.of_bytes(f"temporary {label} PIN", os.urandom(16))


def generate(a: ProvisioningAdapter, slot: str) -> Any:
    """Seed 004 p.15: the app's COMMIT, then (a new session) the key pair and its public key and R."""
    s = a.commit(slot)
    a.open()
    a.generate_key(slot)
    return s, a.read_public_key(slot)


def certify(a: ProvisioningAdapter, slot: str, public_key: Any) -> x509.Certificate:
    """A certificate for the generated key, from the run's test CA, stored in the slot (with the CA)."""
    cert = kit_ca().issue(public_key)
    a.store_certificate(slot, kit_ca().der, ca=True)
    a.store_certificate(slot, cert.public_bytes(Encoding.DER))
    return cert


def set_pins(a: ProvisioningAdapter, pins: dict[str, Secret]) -> None:
    """The temporary-PIN sequence (seed 004 p.17 ㉔-㉟) putting each PIN at ``pins``."""
    temps = {kind: temp_pin(kind) for kind in pins}
    a.open()
    for kind in pins:
        a.set_temp_pin(kind, temps[kind])
        a.block_pin(kind)
    a.close()
    for kind, pin in pins.items():
        a.unblock(kind, temps[kind], pin)


def client(se: CardSession, profile: Profile) -> JpkiClient:
    c = JpkiClient(se, profile.ixit.aids.jpki)
    assert c.select_ap().sw == 0x9000, "SELECT of the JPKI applet failed"
    return c


@contextmanager
def provisioning_se(card: CardSession, profile: Profile) -> Iterator[CardSession]:
    """The test's card session (a new card for the duration on the in-process emulator, through the seam);
    on a real device the PINs are put back afterwards."""
    claimed(profile)
    fresh = profile.ixit.transport.kind == "emulator"
    with fresh_link(profile, card) as se:
        try:
            yield se
        finally:
            if not fresh:
                restore_pins(se, profile)


def restore_pins(se: CardSession, profile: Profile) -> None:
    """On a real device: the PINs back at the profile's values (best effort)."""
    try:
        se.reset()
        set_pins(adapter(se, profile), profile_pins(profile))
    except Refused:
        pass


def reset_pin(card: CardSession, profile: Profile, kind: str) -> bool:
    """Put one PIN back to the profile's value and its counter at the maximum, blocked or not, through the
    temporary-PIN sequence (seed 004 p.17) of the profile's provisioning adapter. False where the unit does
    not offer provisioning (the PIN stays as it is)."""
    claims = profile.ics.provisioning
    if claims is None or not claims.present or profile.keyset("apsd") is None:
        return False
    try:
        set_pins(adapter(card, profile), {kind: profile.secret(f"{kind}_pin")})
    except Refused:
        return False
    return True


def refused(operation: Any, *args: Any) -> Refused | None:
    """The Refused the operation raised, or None when the SE did it."""
    try:
        operation(*args)
    except Refused as exc:
        return exc
    return None
