"""The SE's part of the provisioning flows (docs/spec/system.md: "Security requirements", "First issuance" to
"Removal from old devices"; docs/provisioning-commands.md): the kit's reference TSM and back end drive the SE
under test; the tests check what the SE does."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.tsm_driver import PIN_P2
from jpkikit.secrets import Secret, reveal_bytes
from jpkikit.vocab.jpki import provisioning as se

from .support import flows, level, open_applet, profile_pins, se_session, temp_pin

PINS = ("auth", "sign")
LEVELS = (0x01, 0x03, 0x11, 0x13, 0x33)
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
EF = {"auth": (0x0017, 0x000A, 0x0018), "sign": (0x001A, 0x0001, 0x001B)}  # key, cert, PIN (jpki-applet.md)


def _select_ef(s: Any, fid: int) -> int:
    return s.send(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")).sw


def _read_ef(s: Any, fid: int) -> bytes:
    assert _select_ef(s, fid) == 0x9000, f"SELECT EF {fid:04X} failed"
    out = b""
    while True:
        r = s.read_binary(len(out), 256)
        if r.sw != 0x9000:
            break
        out += r.data
        if len(r.data) < 256:
            break
    return out


def _verify(s: Any, kind: str, pin: Secret | bytes) -> int:
    return s.send(0x00, 0x20, 0x00, PIN_P2[kind], reveal_bytes(pin)).sw


def _sign(s: Any, kind: str, digest: bytes) -> Any:
    assert _select_ef(s, EF[kind][0]) == 0x9000, f"the {kind} key EF is not there"
    return s.send(0x80, 0x2A, 0x00, 0x80, SHA256_DIGEST_INFO + digest, ne=256)


def _claim(profile: Profile) -> None:
    if not (profile.ics.provisioning and profile.ics.provisioning.present):
        pytest.skip("ics.provisioning.present is not claimed")


@pytest.mark.requirement("PROV-SCP-01")
@pytest.mark.effects("credentials", renewable=True)
def test_provisioning_needs_scp03_at_the_claimed_level(card: CardSession, profile: Profile) -> None:
    _claim(profile)
    with se_session(card, profile) as s:
        assert s.select(profile.ixit.aids.jpki).sw == 0x9000
        plain = s.transmit(se.get_se_id())
        assert plain.sw != 0x9000, "GET SE ID was answered without any secure channel"
        required = level(profile)
        for lower in (lv for lv in LEVELS if lv & required != required):
            layer = open_applet(s, profile, lower)
            r = layer.send(se.get_se_id())
            assert r.sw != 0x9000, (
                f"GET SE ID answered 9000 at level {lower:02X}, below the claimed {required:02X}"
            )
            layer.end()
        layer = open_applet(s, profile)
        assert layer.send(se.get_se_id()).sw == 0x9000, (
            f"GET SE ID refused at the claimed level {required:02X}"
        )


@pytest.mark.requirement("PROV-KEY-01")
@pytest.mark.effects("credentials", renewable=True)
def test_key_pair_generated_on_chip_after_the_commitment(card: CardSession, profile: Profile) -> None:
    _claim(profile)
    with se_session(card, profile) as s:
        layer = open_applet(s, profile)
        bits = profile.ics.provisioning.key_bits
        r = layer.send(se.generate_key(se.SLOT_AUTH))
        assert r.sw != 0x9000, "GENERATE KEY without a preceding COMMIT was accepted (seed 004 step ⑰)"
        seen = []
        for _ in range(2):
            s_value = layer.send(se.commit(se.SLOT_AUTH))
            assert s_value.sw == 0x9000 and len(s_value.data) == 32, f"COMMIT answered {s_value}"
            gen = layer.send(se.generate_key(se.SLOT_AUTH))
            assert gen.sw == 0x9000, f"GENERATE KEY answered {gen}"
            key = se.parse_generated_key(gen.data)
            assert hashlib.sha256(key.r).digest() == s_value.data, "H[R] differs from the S committed before"
            assert key.public_key.key_size == bits, f"RSA-{key.public_key.key_size}, RSA-{bits} claimed"
            seen.append((key.public_key.public_numbers().n, key.r))
        assert seen[0][0] != seen[1][0], "two generations gave the same key pair: not generated on the chip"
        assert seen[0][1] != seen[1][1], "two commitments used the same R"


def _factor_in(data: bytes, n: int, size: int) -> bool:
    return any(
        1 < (v := int.from_bytes(data[i : i + size], "big")) < n and n % v == 0
        for i in range(0, len(data) - size + 1)
    )


@pytest.mark.requirement("PROV-KEY-02")
@pytest.mark.effects("credentials", renewable=True)
def test_private_key_never_leaves_the_se(card: CardSession, profile: Profile, tmp_path: Path) -> None:
    _claim(profile)
    with flows(card, profile, tmp_path) as f:
        layer = open_applet(f.se, profile)
        answers = [layer.send(se.get_se_id()), layer.send(se.commit(se.SLOT_AUTH))]
        gen = layer.send(se.generate_key(se.SLOT_AUTH))
        answers.append(gen)
        key = se.parse_generated_key(gen.data)
        n = key.public_key.public_numbers().n
        half = key.public_key.key_size // 16
        for a in answers:
            assert not _factor_in(a.data, n, half), "an answer carries a prime factor of the generated key"
        layer.end()
        result = f.issue()
        f.set_pins(result, profile_pins(profile))
        pin = profile_pins(profile)["auth"]
        assert _verify(f.se, "auth", pin) == 0x9000
        digest = hashlib.sha256(b"jpkikit PROV-KEY-02").digest()
        sig = _sign(f.se, "auth", digest)
        assert sig.sw == 0x9000, f"signature with the generated key answered {sig}"
        cert = x509.load_der_x509_certificate(f.backend.certificate(result["certificates"]["auth"]).der)
        public = cert.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(sig.data, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


@pytest.mark.requirement("PROV-CERT-01")
@pytest.mark.effects("credentials", renewable=True)
def test_certificate_written_is_stored_and_must_match_the_key(
    card: CardSession, profile: Profile, tmp_path: Path
) -> None:
    _claim(profile)
    with flows(card, profile, tmp_path) as f:
        result = f.issue()
        pins = profile_pins(profile)
        f.set_pins(result, pins)
        assert f.se.select(profile.ixit.aids.jpki).sw == 0x9000
        for kind in ("auth", "sign"):
            assert _verify(f.se, kind, pins[kind]) == 0x9000
            stored = _read_ef(f.se, EF[kind][1])
            issued = f.backend.certificate(result["certificates"][kind]).der
            assert stored == issued, f"EF {EF[kind][1]:04X} does not hold the {kind} certificate written"
        other = f.backend.certificate(result["certificates"]["sign"]).der  # a certificate of another key
        layer = open_applet(f.se, profile)
        sws = [layer.send(c).sw for c in se.put_certificate(se.SLOT_AUTH, other)]
        assert sws[-1] != 0x9000, "a certificate for another key was stored in the auth slot"


@pytest.mark.requirement("PROV-PIN-01")
@pytest.mark.effects("credentials", renewable=True)
def test_temporary_pin_sequence(card: CardSession, profile: Profile, tmp_path: Path) -> None:
    _claim(profile)
    with flows(card, profile, tmp_path) as f:
        result = f.issue()
        pins = profile_pins(profile)
        assert f.se.select(profile.ixit.aids.jpki).sw == 0x9000
        for kind in ("auth", "sign"):
            assert _verify(f.se, kind, pins[kind]) != 0x9000, f"the {kind} PIN is usable although blocked"
            temp = temp_pin(result, kind)
            wrong = temp.derive("inverted", lambda v: bytes(b ^ 0xFF for b in bytes.fromhex(v)).hex())
            sw = f.se.transmit(se.unblock_pin(PIN_P2[kind], wrong, pins[kind])).sw
            assert sw != 0x9000, "unblock with a wrong temporary PIN was accepted"
            sw = f.se.transmit(se.unblock_pin(PIN_P2[kind], temp, pins[kind])).sw
            assert sw == 0x9000, f"unblock with the temporary PIN answered {sw:04X}"
            sw = f.se.transmit(se.unblock_pin(PIN_P2[kind], temp, pins[kind])).sw
            assert sw != 0x9000, "the temporary PIN was accepted a second time"
            assert _verify(f.se, kind, pins[kind]) == 0x9000, f"the new {kind} PIN does not verify"


@pytest.mark.requirement("PROV-SEID-01")
def test_se_identification_id_is_stable(card: CardSession, profile: Profile) -> None:
    _claim(profile)
    with se_session(card, profile) as s:
        ids = []
        for _ in range(2):
            layer = open_applet(s, profile)
            ids += [layer.send(se.get_se_id()).data, layer.send(se.get_se_id()).data]
            layer.end()
            s.reset()
        assert 1 <= len(ids[0]) <= 32, f"SE identification ID of {len(ids[0])} bytes"
        assert len(set(ids)) == 1, "the SE identification ID changed between reads, sessions or resets"


@pytest.mark.requirement("PROV-DEL-01")
@pytest.mark.effects("credentials", renewable=True)
def test_delete_keys_really_deletes(card: CardSession, profile: Profile, tmp_path: Path) -> None:
    _claim(profile)
    with flows(card, profile, tmp_path) as f:
        result = f.issue()
        pins = profile_pins(profile)
        f.set_pins(result, pins)
        layer = open_applet(f.se, profile)
        se_id = layer.send(se.get_se_id()).data
        assert layer.send(se.delete_keys()).sw == 0x9000
        assert layer.send(se.get_se_id()).data == se_id, "deleting keys changed the SE identification ID"
        # make the PINs usable again (temporary-PIN sequence), so only a missing key can stop a signature
        temps = {
            kind: Secret.of_bytes("temporary PIN set by the test", bytes(range(1, 17)), scrub=False)
            for kind in PINS
        }
        for kind, slot in (("auth", se.SLOT_AUTH), ("sign", se.SLOT_SIGN)):
            layer.send(se.set_temp_pin(slot, reveal_bytes(temps[kind])))
            layer.send(se.block_pin(slot))
        layer.end()
        assert f.se.select(profile.ixit.aids.jpki).sw == 0x9000
        for kind in ("auth", "sign"):
            f.se.transmit(se.unblock_pin(PIN_P2[kind], temps[kind], pins[kind]))
            _verify(f.se, kind, pins[kind])
            if _select_ef(f.se, EF[kind][0]) == 0x9000:
                sig = f.se.send(0x80, 0x2A, 0x00, 0x80, SHA256_DIGEST_INFO + bytes(32), ne=256)
                assert sig.sw != 0x9000, f"the {kind} key still signs after DELETE KEYS"
            cert = _select_ef(f.se, EF[kind][1])
            data = f.se.read_binary(0, 4) if cert == 0x9000 else None
            assert data is None or data.sw != 0x9000, f"the {kind} certificate is still readable"
