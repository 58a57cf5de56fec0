"""SCP03 as the ISD speaks it (Amendment D v1.1.1; docs/spec/globalplatform.md, the SCP03 sections)."""

from __future__ import annotations

import hmac
from typing import Any

import pytest

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.scp03 import AuthenticationError, SecureChannelError
from jpkikit.vocab.scp03.handshake import initialize_update_command, pseudo_random_challenge
from jpkikit.vocab.scp03.session import Scp03Session

from .gp import gp_ics, gp_ixit, keyset, modes, open_session, scp, sd_aid, select_sd

GET_DATA_66 = CommandApdu(0x80, 0xCA, 0x00, 0x66, ne=256)


def _refused(r: ResponseApdu) -> bool:
    return r.sw not in (0x9000,) and r.sw1 not in (0x61, 0x62, 0x63)


def _raw(card: CardSession, command: CommandApdu) -> ResponseApdu:
    """Send bytes below the SCP03 layer (still through GET RESPONSE handling and the tracer)."""
    return card.transmit(command)


@pytest.mark.requirement("GP-SCP-01")
def test_sessions_at_every_claimed_level_length_and_mode(card: CardSession, profile: Profile) -> None:
    claims = gp_ics(profile)
    combos = [(lv, n, m) for lv in claims.levels for n in claims.key_lengths for m in modes(profile)]
    if not combos:
        raise ProfileError(str(profile.path), "ics.gp", "claims SCP03 but no level, key length or mode")
    for level, length, mode in combos:
        where = f"level {level:02X}, AES-{length * 8}, {mode.name}"
        assert select_sd(card, profile).ok
        layer = scp(card, profile, keyset(profile, length))
        try:
            layer.open(level, mode=mode)
        except AuthenticationError as exc:
            pytest.fail(f"{where}: {exc}")
        try:
            case1 = layer.send(CommandApdu(0x80, 0xCA, 0x00, 0x66))  # case 1 on the wire (data via 61xx)
            case2 = layer.send(GET_DATA_66)
            # case 3: GET STATUS with data and no Le (the answer comes through 61xx, as on T=0); nothing is
            # written, so the unit's persistent data (IIN, CIN) stays as found
            case3 = layer.send(CommandApdu(0x80, 0xF2, 0x80, 0x02, b"\x4f\x00"))
            case4 = layer.send(CommandApdu(0x80, 0xF2, 0x80, 0x02, b"\x4f\x00", ne=256))
        except SecureChannelError as exc:
            pytest.fail(f"{where}: response protection failed: {exc}")
        assert case2.sw == 0x9000 and case2.data[:1] == b"\x66", (
            f"{where}: case 2 GET DATA 66 answered {case2}"
        )
        assert case1.sw == 0x9000 and case1.data == case2.data, f"{where}: case 1 answered {case1}"
        assert case3.sw in (0x9000, 0x6310) and case3.data == case4.data, (
            f"{where}: case 3 GET STATUS answered {case3}, case 4 {case4}"
        )
        assert case4.sw in (0x9000, 0x6310) and case4.data[:1] == b"\xe3", (
            f"{where}: case 4 GET STATUS {case4}"
        )
        layer.end()


@pytest.mark.requirement("GP-SCP-02")
def test_wrong_host_cryptogram(card: CardSession, profile: Profile) -> None:
    assert select_sd(card, profile).ok
    layer = scp(card, profile)
    hs = layer.initialize_update()
    with pytest.raises(AuthenticationError) as info:
        layer.external_authenticate(0x01, cryptogram=bytes(int(hs.mode)))
    assert info.value.sw == 0x6300, f"a wrong host cryptogram answered {info.value.sw and hex(info.value.sw)}"
    forged = Scp03Session(hs.keys, hs.mode, 0x01)
    forged.chain = b"\x00" * 16
    r = _raw(card, forged.wrap_command(GET_DATA_66))
    assert _refused(r), f"a C-MAC'd command after a failed authentication answered {r}"


def _open(card: CardSession, profile: Profile, level: int = 0x01) -> Any:
    return open_session(card, profile, level, modes(profile)[0])


@pytest.mark.requirement("GP-SCP-03")
def test_bad_c_mac_aborts_session(card: CardSession, profile: Profile) -> None:
    layer = _open(card, profile)
    session = layer.session
    chain, counter = session.chain, session.counter
    bad = bytearray(session.wrap_command(GET_DATA_66).to_bytes())
    bad[-2] ^= 0x01  # last MAC byte (the final byte is Le)
    r = card.transmit(bytes(bad))
    assert _refused(r), f"a command with a wrong C-MAC answered {r}"
    # wrap the next command as if the bad one had never been sent: only an aborted session refuses it
    session.chain, session.counter = chain, counter
    r = _raw(card, session.wrap_command(GET_DATA_66))
    assert _refused(r), f"after a bad C-MAC the session still accepted a command ({r}); it must be aborted"


@pytest.mark.requirement("GP-SCP-04")
def test_replayed_and_reordered_commands(card: CardSession, profile: Profile) -> None:
    layer = _open(card, profile)
    wrapped = layer.session.wrap_command(GET_DATA_66)
    assert _raw(card, wrapped).sw == 0x9000
    r = _raw(card, wrapped)
    assert _refused(r), f"a replayed command answered {r}"
    layer = _open(card, profile)
    first = layer.session.wrap_command(GET_DATA_66)
    second = layer.session.wrap_command(CommandApdu(0x80, 0xCA, 0x00, 0xE0, ne=256))
    r = _raw(card, second)
    assert _refused(r), f"a command sent before the one wrapped ahead of it answered {r}"
    assert _refused(_raw(card, first)), "the session went on after reordered commands"


@pytest.mark.requirement("GP-SCP-05")
def test_command_below_session_level(card: CardSession, profile: Profile) -> None:
    layer = _open(card, profile)
    r = card.transmit(CommandApdu(0x80, 0xF2, 0x80, 0x02, b"\x4f\x00", ne=256))
    assert _refused(r), f"a plain GET STATUS in a C-MAC session answered {r}"
    r = _raw(card, layer.session.wrap_command(GET_DATA_66))
    assert _refused(r), f"the session was not aborted by the unprotected command ({r})"


@pytest.mark.requirement("GP-SCP-06")
def test_unknown_kvn(card: CardSession, profile: Profile) -> None:
    assert select_sd(card, profile).ok
    held = {k.kvn for k in gp_ixit(profile).keysets_of("isd")}
    unknown = next(k for k in range(0x7F, 0x00, -1) if k not in held)
    r = card.transmit(initialize_update_command(bytes(8), unknown))
    assert r.sw == 0x6A88, f"INITIALIZE UPDATE with unknown KVN {unknown:02X} answered {r}"


@pytest.mark.requirement("GP-SCP-07")
def test_skipped_external_authenticate(card: CardSession, profile: Profile) -> None:
    assert select_sd(card, profile).ok
    layer = scp(card, profile)
    hs = layer.initialize_update()
    forged = Scp03Session(hs.keys, hs.mode, 0x01)
    r = _raw(card, forged.wrap_command(GET_DATA_66))
    assert _refused(r), f"a C-MAC'd command without EXTERNAL AUTHENTICATE answered {r}"
    with pytest.raises(AuthenticationError):
        layer.handshake = hs
        layer.external_authenticate(0x01)


@pytest.mark.requirement("GP-SCP-08")
def test_sequence_counter_and_pseudo_random_challenge(card: CardSession, profile: Profile) -> None:
    assert select_sd(card, profile).ok
    ks = keyset(profile)
    layer = scp(card, profile, ks)
    first = layer.initialize_update().response
    second = layer.initialize_update().response
    if not first.i & 0x10:
        pytest.skip("not applicable: the card uses random card challenges (i bit b5 = 0)")
    assert first.sequence_counter is not None and second.sequence_counter is not None
    assert second.sequence_counter == first.sequence_counter + 1, (
        f"sequence counter went {first.sequence_counter:06X} -> {second.sequence_counter:06X}"
    )
    expected = pseudo_random_challenge(ks.keys.enc, second.sequence_counter, sd_aid(profile), second.mode)
    assert hmac.compare_digest(expected, second.card_challenge), (
        "card challenge is not the Amd D §6.2.2.1 value"
    )


@pytest.mark.requirement("GP-SCP-09")
@pytest.mark.effects("scp-counter")
def test_exhausted_counter(card: CardSession, profile: Profile) -> None:
    kvn = gp_ixit(profile).exhaustion_kvn
    if kvn is None:
        pytest.skip("not applicable: ixit.gp.exhaustion_kvn names no key set near exhaustion")
    assert select_sd(card, profile).ok
    seen = []
    for _ in range(3):
        r = card.transmit(initialize_update_command(bytes(8), kvn))
        seen.append(r)
        if r.sw == 0x6985:
            break
        assert r.sw == 0x9000, f"INITIALIZE UPDATE answered {r}"
        counter = int.from_bytes(r.data[-3:], "big")
        assert counter >= 0xFFFFFE or counter == 0xFFFFFF, f"counter {counter:06X} is not near exhaustion"
    assert seen[-1].sw == 0x6985, (
        "INITIALIZE UPDATE with an exhausted sequence counter was not refused (6985)"
    )


@pytest.mark.requirement("GP-SCP-10")
def test_apsd_has_its_own_key_set(card: CardSession, profile: Profile) -> None:
    layer = open_session(card, profile, 0x01, modes(profile)[0], sd="apsd")
    assert layer.send(GET_DATA_66).sw == 0x9000
    assert select_sd(card, profile, "apsd").ok
    isd_keys = scp(card, profile, keyset(profile, None, "isd"))
    isd_keys.sd_aid = sd_aid(profile, "apsd")
    with pytest.raises((AuthenticationError,)):
        isd_keys.open(0x01, kvn=keyset(profile, None, "apsd").kvn, mode=modes(profile)[0])
