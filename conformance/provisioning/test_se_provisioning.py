"""The SE's part of the provisioning flows (docs/spec/system.md: "Security requirements", "First issuance" to
"Removal from old devices"), driven directly through the profile's provisioning adapter
(conformance/provisioning/support.py): what the SE does when a TSM and the app ask it."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.secrets import Secret
from jpkikit.vocab.gp.constants import INS_DELETE, INS_GET_STATUS, INS_INSTALL
from jpkikit.vocab.gp.layouts import InstallForInstall, StatusEntry
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.jpki.card import EF_CERT_STATUS

from .support import (
    PAIR,
    adapter,
    certify,
    client,
    generate,
    held,
    isd_keys,
    kit_ca,
    level,
    other_pin,
    profile_pins,
    provisioning_se,
    refused,
    set_pins,
    temp_pin,
)

LEVELS = (0x01, 0x03, 0x11, 0x13, 0x33)
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


@pytest.mark.requirement("PROV-SCP-01")
@pytest.mark.effects("credentials", renewable=True)
def test_provisioning_needs_scp03_at_the_claimed_level(card: CardSession, profile: Profile) -> None:
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        a.open(0)  # seed 004 p.12: server <-> SE only under SCP03
        assert refused(a.read_se_id), "GET SE ID was answered without any secure channel"
        assert refused(a.set_temp_pin, "auth", temp_pin("plain")), (
            "SET TEMPORARY PIN was accepted without any secure channel"
        )
        required = level(profile)
        for lower in (lv for lv in LEVELS if lv & required != required):
            a.open(lower)
            assert refused(a.read_se_id), (
                f"GET SE ID answered at level {lower:02X}, below the claimed {required:02X}"
            )
            a.open(lower)
            assert refused(a.set_temp_pin, "auth", temp_pin("low")), (
                f"SET TEMPORARY PIN accepted at level {lower:02X}, below the claimed {required:02X}"
            )
        a.open()
        a.read_se_id()  # refused at the claimed level: Refused, a failure


@pytest.mark.requirement("PROV-KEY-01")
@pytest.mark.effects("credentials", renewable=True)
def test_commitment_given_to_the_app_is_answered_in_a_later_session(
    card: CardSession, profile: Profile
) -> None:
    claims = profile.ics.provisioning
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        a.open()
        assert refused(a.generate_key, "auth"), (
            "GENERATE KEY without a preceding COMMIT was accepted (step ⑰)"
        )
        seen = []
        for _ in range(2):
            s = a.commit("auth")  # the app, before the card signs the application (seed 004 p.15)
            assert len(s) == 32, f"COMMIT answered {len(s)} bytes, not a SHA-256 S"
            se.reset()  # the application goes to J-LIS; the TSM comes back in a session of its own
            a.open()
            a.generate_key("auth")
            key = a.read_public_key("auth")
            assert hashlib.sha256(key.r).digest() == s, "H[R] differs from the S the SE gave the app"
            assert claims is not None and key.public_key.key_size == claims.key_bits, (
                f"RSA-{key.public_key.key_size}, RSA-{claims.key_bits if claims else '?'} claimed"
            )
            seen.append((key.public_key.public_numbers().n, key.r))
        assert seen[0][0] != seen[1][0], "two generations gave the same key pair: not generated on the chip"
        assert seen[0][1] != seen[1][1], "two commitments used the same R"


@pytest.mark.requirement("PROV-KEY-03")
@pytest.mark.effects("credentials", renewable=True)
def test_one_commitment_one_key_pair(card: CardSession, profile: Profile) -> None:
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        generate(a, "auth")
        assert refused(a.generate_key, "auth"), "a second GENERATE KEY on one commitment was accepted"
        a.commit("auth")
        a.open()
        assert refused(a.generate_key, "sign"), "the auth slot's commitment let the sign slot generate a key"


def _factor_in(data: bytes, n: int, size: int) -> bool:
    return any(
        1 < (v := int.from_bytes(data[i : i + size], "big")) < n and n % v == 0
        for i in range(0, len(data) - size + 1)
    )


@pytest.mark.requirement("PROV-KEY-02")
@pytest.mark.effects("credentials", renewable=True)
def test_private_key_never_leaves_the_se_and_is_the_one_that_signs(
    card: CardSession, profile: Profile
) -> None:
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        _, key = generate(a, "auth")
        a.read_se_id()
        n = key.public_key.public_numbers().n
        half = key.public_key.key_size // 16
        for answer in a.answers:
            assert not _factor_in(answer, n, half), "an answer carries a prime factor of the generated key"
        cert = certify(a, "auth", key.public_key)
        pin = profile_pins(profile)["auth"]
        set_pins(a, {"auth": pin})
        c = client(se, profile)
        assert c.verify(PAIR["auth"].pin_ef, pin).sw == 0x9000, (
            "the auth PIN set by the sequence does not verify"
        )
        digest = hashlib.sha256(b"jpkikit PROV-KEY-02").digest()
        sig = c.sign(PAIR["auth"].key_ef, SHA256_DIGEST_INFO + digest)
        assert sig.sw == 0x9000, f"signature with the generated key answered {sig}"
        public = cert.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            public.verify(sig.data, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        except InvalidSignature:
            pytest.fail("the signature does not verify with the public key the SE gave for its key pair")


@pytest.mark.requirement("PROV-CERT-01")
@pytest.mark.effects("credentials", renewable=True)
def test_certificate_written_is_stored_and_must_match_the_key(card: CardSession, profile: Profile) -> None:
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        a.open()
        a.delete_keys()  # from an SE without certificates, so that EF 0008 must change (seed 004 p.25 ⑥)
        written = {}
        for kind in held(profile):
            _, key = generate(a, kind)
            cert = kit_ca().issue(key.public_key)
            stored = refused(a.store_certificate, kind, kit_ca().der, True)  # steps ㉑㉒
            assert stored is None, f"the SE did not store the {kind} CA certificate written: {stored}"
            stored = refused(a.store_certificate, kind, cert.public_bytes(_der()))
            assert stored is None, f"the SE did not store the {kind} certificate for its own key: {stored}"
            written[kind] = cert
        pins = profile_pins(profile)
        set_pins(a, pins)
        c = client(se, profile)
        for kind, pair in held(profile).items():
            assert c.verify(pair.pin_ef, pins[kind]).sw == 0x9000
            stored, _ = c.read_der(pair.cert_ef)
            assert stored == written[kind].public_bytes(_der()), (
                f"EF {pair.cert_ef:04X} does not hold the {kind} certificate written"
            )
            ca, _ = c.read_der(pair.ca_ef)
            assert ca == kit_ca().der, f"EF {pair.ca_ef:04X} does not hold the {kind} CA certificate written"
        status, _ = c.read_ef(EF_CERT_STATUS)
        shown = bytes(0x8F if kind in written else 0x00 for kind in ("sign", "auth"))  # byte 0 sign, 1 auth
        assert status[:2] == shown, (
            f"EF 0008 says {status[:2].hex()}, the certificates written say {shown.hex()}"
        )
        # a certificate of another key: the sign slot's, or (auth-only applet) one for a key of the kit's own
        other_cert = written.get("sign") or kit_ca().issue(_other_key().public_key())
        other = other_cert.public_bytes(_der())
        a.open()
        assert refused(a.store_certificate, "auth", other), (
            "a certificate for another key was stored in the auth slot"
        )


def _other_key():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _der():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


@pytest.mark.requirement("PROV-PIN-01")
@pytest.mark.effects("credentials", renewable=True)
def test_temporary_pin_sequence(card: CardSession, profile: Profile) -> None:
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        old = profile_pins(profile)
        pins = {kind: other_pin(pin) for kind, pin in old.items()}  # the unblock must set a new value
        temps = {kind: temp_pin(kind) for kind in held(profile)}
        a.open()
        for kind in held(profile):  # seed 004 p.17 ㉔-㉗
            a.set_temp_pin(kind, temps[kind])
            a.block_pin(kind)
        a.close()
        c = client(se, profile)
        for kind, pair in held(profile).items():
            # a blocked PIN answers 6984 (jpki-applet.md#pin-states-and-blocking)
            r = c.verify(pair.pin_ef, old[kind])
            assert r.sw == SW.REFERENCE_DATA_NOT_USABLE, (
                f"the {kind} PIN is usable although blocked: {r.sw:04X}"
            )
            wrong = temps[kind].derive("inverted", lambda v: bytes(b ^ 0xFF for b in bytes.fromhex(v)).hex())
            assert refused(a.unblock, kind, wrong, pins[kind]), (
                "unblock with a wrong temporary PIN was accepted"
            )
            a.unblock(kind, temps[kind], pins[kind])  # ㉛-㉟
            assert refused(a.unblock, kind, temps[kind], pins[kind]), (
                "the temporary PIN was accepted a second time"
            )
            c = client(se, profile)
            assert c.verify(pair.pin_ef, pins[kind]).sw == 0x9000, f"the new {kind} PIN does not verify"


@pytest.mark.requirement("PROV-PIN-02")
@pytest.mark.effects("credentials", renewable=True)
def test_temporary_pin_tries_are_limited_and_kept(card: CardSession, profile: Profile) -> None:
    claims = profile.ics.provisioning
    tries = claims.temp_pin_tries if claims else 3
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        pin, temp = profile_pins(profile)["auth"], temp_pin("limited")
        a.open()
        a.set_temp_pin("auth", temp)
        a.block_pin("auth")
        a.close()
        wrong = temp.derive("inverted", lambda v: bytes(b ^ 0xFF for b in bytes.fromhex(v)).hex())
        for n in range(tries):
            exc = refused(a.unblock, "auth", wrong, pin)
            assert exc is not None, f"wrong temporary PIN {n + 1} was accepted"
            if exc.tries_left is not None:
                assert exc.tries_left == tries - n - 1, (
                    f"after wrong temporary PIN {n + 1} the SE says {exc.tries_left} tries left, "
                    f"not {tries - n - 1}"
                )
            se.reset()  # the count survives a reset
        assert refused(a.unblock, "auth", temp, pin), (
            f"the temporary PIN still unblocked after {tries} wrong tries "
            "(seed 004 p.18: a new one is needed)"
        )
        c = client(se, profile)
        r = c.verify(PAIR["auth"].pin_ef, pin)  # still blocked: 6984
        assert r.sw == SW.REFERENCE_DATA_NOT_USABLE, (
            f"the PIN is usable after the temporary PIN ran out: {r.sw:04X}"
        )
        set_pins(a, {"auth": pin})  # a new temporary PIN from the TSM works again


@pytest.mark.requirement("PROV-PIN-03")
@pytest.mark.effects("credentials", renewable=True)
def test_block_needs_a_temporary_pin_of_up_to_16_bytes(card: CardSession, profile: Profile) -> None:
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        kind = list(held(profile))[-1]  # the sign PIN, or the auth PIN of an auth-only applet
        a.open()
        assert refused(a.block_pin, kind), (
            "BLOCK PIN without a temporary PIN was accepted: the user is locked out"
        )
        c = client(se, profile)
        pin = profile_pins(profile)[kind]
        assert c.verify(PAIR[kind].pin_ef, pin).sw == 0x9000, "the refused BLOCK PIN still blocked the PIN"
        long = Secret.of_bytes("temporary PIN of 16 bytes", bytes(range(0x41, 0x51)))
        a.open()
        a.set_temp_pin(kind, long)  # seed 004 p.17 補足1: up to 16 bytes
        a.block_pin(kind)
        a.close()
        a.unblock(kind, long, pin)


@pytest.mark.requirement("PROV-SEID-01")
@pytest.mark.effects("credentials", renewable=True)
def test_se_identification_id_is_stable(card: CardSession, profile: Profile) -> None:
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        ids = []
        for _ in range(2):
            a.open()
            ids += [a.read_se_id(), a.read_se_id()]
            a.close()
            se.reset()
        assert 1 <= len(ids[0]) <= 32, f"SE identification ID of {len(ids[0])} bytes"
        assert len(set(ids)) == 1, "the SE identification ID changed between reads, sessions or resets"


@pytest.mark.requirement("PROV-SEID-02")
@pytest.mark.effects("credentials", "content", renewable=True)
def test_se_identification_id_survives_reinstallation(card: CardSession, profile: Profile) -> None:
    from jpkikit.host.scp03 import Scp03Layer

    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        a.open()
        before = a.read_se_id()
        a.close()
        gp = profile.ixit.gp
        assert gp is not None
        jpki = profile.ixit.aids.jpki
        assert se.select(gp.isd).sw == 0x9000
        isd = Scp03Layer(se.tracer, isd_keys(profile), sd_aid=gp.isd)
        isd.open(level(profile))
        status = isd.send(CommandApdu(0x80, INS_GET_STATUS, 0x40, 0x02, Tlv(0x4F, jpki).encode(), ne=256))
        assert status.sw == 0x9000, f"GET STATUS of the JPKI applet answered {status.sw:04X}"
        entry = StatusEntry.parse_all(status.data)[0]
        assert entry.elf_aid, "GET STATUS names no load file of the JPKI applet"
        modules = isd.send(
            CommandApdu(0x80, INS_GET_STATUS, 0x10, 0x02, Tlv(0x4F, entry.elf_aid).encode(), ne=256)
        )
        elf = StatusEntry.parse_all(modules.data)[0] if modules.sw == 0x9000 else None
        module = jpki if elf is None or jpki in elf.modules or not elf.modules else elf.modules[0]
        deleted = isd.send(CommandApdu(0x80, INS_DELETE, 0x00, 0x00, Tlv(0x4F, jpki).encode(), ne=256))
        assert deleted.sw == 0x9000, f"DELETE of the JPKI applet answered {deleted.sw:04X}"
        data = InstallForInstall(entry.elf_aid, module, jpki, b"\x00", b"\xc9\x00").to_bytes()
        installed = isd.send(CommandApdu(0x80, INS_INSTALL, 0x0C, 0x00, data, ne=256))
        assert installed.sw == 0x9000, f"INSTALL of the JPKI applet again answered {installed.sw:04X}"
        # the new instance belongs to the ISD: hand it back to the SD it was found in (GPCS §11.5.2.3.4)
        if entry.sd_aid and entry.sd_aid != gp.isd:
            back = InstallForInstall(entry.sd_aid, b"", jpki).to_bytes()
            handed = isd.send(CommandApdu(0x80, INS_INSTALL, 0x10, 0x00, back, ne=256))
            assert handed.sw == 0x9000, f"INSTALL [for extradition] of the applet answered {handed.sw:04X}"
        isd.end()
        again = adapter(se, profile, isd=not entry.sd_aid or entry.sd_aid == gp.isd)
        again.open()
        after = again.read_se_id()
        assert after == before, "the SE identification ID changed when the applet was installed again"


@pytest.mark.requirement("PROV-DEL-01")
@pytest.mark.effects("credentials", renewable=True)
def test_delete_keys_really_deletes(card: CardSession, profile: Profile) -> None:
    with provisioning_se(card, profile) as se:
        a = adapter(se, profile)
        for kind in held(profile):
            _, key = generate(a, kind)
            certify(a, kind, key.public_key)
        a.open()
        se_id = a.read_se_id()
        a.delete_keys()
        assert a.read_se_id() == se_id, "deleting keys changed the SE identification ID"
        pins = profile_pins(profile)
        set_pins(a, pins)  # the PINs usable again, so only a missing key can stop a signature
        c = client(se, profile)
        for kind, pair in held(profile).items():
            c.verify(pair.pin_ef, pins[kind])
            sig = c.sign(pair.key_ef, SHA256_DIGEST_INFO + bytes(32))
            assert sig.sw != 0x9000, f"the {kind} key still signs after DELETE KEYS"
            cert, r = c.read_der(pair.cert_ef)
            assert not cert or r.sw != SW.OK, f"the {kind} certificate is still readable"
        status, _ = c.read_ef(EF_CERT_STATUS)
        assert status[:2] == b"\x00\x00", f"EF 0008 says {status[:2].hex()} after DELETE KEYS"
        if profile.ixit.transport.kind != "emulator":  # the run goes on with this unit: keys and certificates
            for kind in held(profile):
                _, key = generate(a, kind)
                certify(a, kind, key.public_key)
