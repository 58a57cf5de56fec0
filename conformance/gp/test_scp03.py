"""SCP03 as the ISD speaks it (Amendment D v1.1.1; docs/spec/globalplatform.md, the SCP03 sections): the
handshake, the protection of commands and responses, and the rules that end or abort a session."""

from __future__ import annotations

import hmac
import itertools
import os
from typing import Any

import pytest

from jpkikit.errors import Inconclusive, ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_with_channel
from jpkikit.vocab.scp03 import AuthenticationError, Mode, SecureChannelError
from jpkikit.vocab.scp03.handshake import (
    MAX_SEQUENCE_COUNTER,
    host_cryptogram,
    initialize_update_command,
    pseudo_random_challenge,
)
from jpkikit.vocab.scp03.levels import I_PSEUDO_RANDOM, SecurityLevel
from jpkikit.vocab.scp03.session import Scp03Session

from .gp import (
    claimed_i,
    gp_ics,
    gp_ixit,
    keyset,
    keysets,
    modes,
    open_session,
    scp,
    sd_aid,
    select_sd,
)

GET_DATA_66 = CommandApdu(0x80, 0xCA, 0x00, 0x66, ne=256)
GET_DATA_E0 = CommandApdu(0x80, 0xCA, 0x00, 0xE0, ne=256)
GET_STATUS_ISD = CommandApdu(0x80, 0xF2, 0x80, 0x02, b"\x4f\x00", ne=256)
#: GET DATA of a tag no security domain holds: answered 6A88, referenced data not found (GPCS §11.3.3).
GET_DATA_UNKNOWN = CommandApdu(0x80, 0xCA, 0x00, 0xFE, ne=256)
MODES = [pytest.param(Mode.S8, id="S8"), pytest.param(Mode.S16, id="S16")]


def _refused(r: ResponseApdu) -> bool:
    return r.sw not in (0x9000,) and r.sw1 not in (0x61, 0x62, 0x63)


def _raw(card: CardSession, command: CommandApdu) -> ResponseApdu:
    """Send bytes below the SCP03 layer (still through GET RESPONSE handling and the tracer)."""
    return card.transmit(command)


def _claimed(profile: Profile, mode: Mode) -> None:
    if mode not in modes(profile):
        pytest.skip(f"not applicable: ics.gp.{mode.name.lower()} is false")


def _open(card: CardSession, profile: Profile, level: int = 0x01, mode: Mode | None = None) -> Any:
    return open_session(card, profile, level, mode or modes(profile)[0])


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
            case4 = layer.send(GET_STATUS_ISD)
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
    mode = modes(profile)[0]

    def last_byte(hc: bytes) -> bytes:
        return hc[:-1] + bytes((hc[-1] ^ 0x01,))

    for what, tamper in (("of zeros", lambda hc: bytes(len(hc))), ("wrong in its last byte", last_byte)):
        assert select_sd(card, profile).ok
        hs = scp(card, profile).initialize_update(mode=mode)
        right = host_cryptogram(hs.keys, hs.host_challenge, hs.response.card_challenge, hs.mode)
        r = _raw(card, Scp03Session(hs.keys, hs.mode, 0x01).external_authenticate_command(tamper(right)))
        assert r.sw == 0x6300, (
            f"EXTERNAL AUTHENTICATE with a host cryptogram {what} answered {r}; "
            "6300 expected (GPCS Table E-12)"
        )
        # the handshake is used up (Amd D §5.2): the right cryptogram now opens nothing either
        retry = Scp03Session(hs.keys, hs.mode, 0x01)
        r = _raw(card, retry.external_authenticate_command(right))
        assert _refused(r), (
            f"after a refused EXTERNAL AUTHENTICATE, a second one with the right host cryptogram answered "
            f"{r}; the host must start again with INITIALIZE UPDATE (Amd D §5.2)"
        )
        r = _raw(card, retry.wrap_command(GET_DATA_66))
        assert _refused(r), f"a C-MAC'd command after a second EXTERNAL AUTHENTICATE answered {r}"
    # no session exists after the 6300: a command chained on the refused EXTERNAL AUTHENTICATE is refused
    assert select_sd(card, profile).ok
    hs = scp(card, profile).initialize_update(mode=mode)
    forged = Scp03Session(hs.keys, hs.mode, 0x01)
    r = _raw(card, forged.external_authenticate_command(bytes(int(mode))))
    assert r.sw == 0x6300, f"EXTERNAL AUTHENTICATE with a host cryptogram of zeros answered {r}"
    r = _raw(card, forged.wrap_command(GET_DATA_66))
    assert _refused(r), (
        f"a C-MAC'd command chained on the refused EXTERNAL AUTHENTICATE answered {r}; no session is open"
    )


@pytest.mark.requirement("GP-SCP-03")
@pytest.mark.parametrize("mode", MODES)
def test_bad_c_mac_aborts_session(card: CardSession, profile: Profile, mode: Mode) -> None:
    _claimed(profile, mode)
    layer = _open(card, profile, mode=mode)
    session = layer.session
    chain, counter = session.chain, session.counter
    bad = bytearray(session.wrap_command(GET_DATA_66).to_bytes())
    bad[-2] ^= 0x01  # the last byte of the C-MAC (the final byte is Le): the whole MAC is compared
    r = card.transmit(bytes(bad))
    assert _refused(r), f"{mode.name}: a command whose C-MAC is wrong in its last byte answered {r}"
    # wrap the next command as if the bad one had never been sent: only an aborted session refuses it
    session.chain, session.counter = chain, counter
    r = _raw(card, session.wrap_command(GET_DATA_66))
    assert _refused(r), (
        f"{mode.name}: after a bad C-MAC the session still accepted a command ({r}); it must be aborted"
    )


@pytest.mark.requirement("GP-SCP-04")
def test_replayed_and_reordered_commands(card: CardSession, profile: Profile) -> None:
    layer = _open(card, profile)
    wrapped = layer.session.wrap_command(GET_DATA_66)
    assert _raw(card, wrapped).sw == 0x9000
    r = _raw(card, wrapped)
    assert _refused(r), f"a replayed command answered {r}"
    layer = _open(card, profile)
    first = layer.session.wrap_command(GET_DATA_66)
    second = layer.session.wrap_command(GET_DATA_E0)
    r = _raw(card, second)
    assert _refused(r), f"a command sent before the one wrapped ahead of it answered {r}"
    assert _refused(_raw(card, first)), "the session went on after reordered commands"


@pytest.mark.requirement("GP-SCP-05")
def test_command_below_session_level(card: CardSession, profile: Profile) -> None:
    layer = _open(card, profile)
    r = card.transmit(GET_STATUS_ISD)
    assert _refused(r), f"a plain GET STATUS in a C-MAC session answered {r}"
    r = _raw(card, layer.session.wrap_command(GET_DATA_66))
    assert _refused(r), f"the session was not aborted by the unprotected command ({r})"
    if 0x03 not in gp_ics(profile).levels:
        return
    # C-DECRYPTION: a command whose data is MACed but sent in clear is below the level (Amd D §5.6, §6.2.6)
    session = _open(card, profile, 0x03).session
    mac_only = Scp03Session(session.keys, session.mode, 0x01, session.chain)
    mac_only.counter = session.counter
    r = _raw(card, mac_only.wrap_command(GET_STATUS_ISD))
    assert _refused(r), (
        f"in a C-DECRYPTION session, a command whose data is MACed but not encrypted answered {r}"
    )
    session.chain, session.counter = mac_only.chain, mac_only.counter
    r = _raw(card, session.wrap_command(GET_DATA_66))
    assert _refused(r), f"the session was not aborted by the command sent in clear ({r})"


@pytest.mark.requirement("GP-SCP-06")
def test_unknown_kvn(card: CardSession, profile: Profile) -> None:
    held = {int(k.kvn) for k in gp_ixit(profile).keysets_of("isd")}
    # the highest free KVN, and each held KVN with b7 flipped: a card comparing fewer bits finds a key set
    unknown = [next(k for k in range(0x7F, 0x00, -1) if k not in held)]
    unknown += sorted({k ^ 0x40 for k in held} - held - set(unknown))
    for kvn in unknown:
        assert select_sd(card, profile).ok
        r = card.transmit(initialize_update_command(os.urandom(8), kvn))
        assert r.sw == 0x6A88, f"INITIALIZE UPDATE with unknown KVN {kvn:02X} answered {r}; 6A88 expected"


@pytest.mark.requirement("GP-SCP-07")
def test_skipped_external_authenticate(card: CardSession, profile: Profile) -> None:
    assert select_sd(card, profile).ok
    layer = scp(card, profile)
    hs = layer.initialize_update()
    forged = Scp03Session(hs.keys, hs.mode, 0x01)
    r = _raw(card, forged.wrap_command(GET_DATA_66))
    assert _refused(r), f"a C-MAC'd command without EXTERNAL AUTHENTICATE answered {r}"
    right = host_cryptogram(hs.keys, hs.host_challenge, hs.response.card_challenge, hs.mode)
    r = _raw(card, Scp03Session(hs.keys, hs.mode, 0x01).external_authenticate_command(right))
    assert _refused(r), f"EXTERNAL AUTHENTICATE after another command had used up the handshake answered {r}"
    # a selection ends the handshake as it ends a session (Amd D §5.6)
    hs = layer.initialize_update()
    assert select_sd(card, profile).ok
    right = host_cryptogram(hs.keys, hs.host_challenge, hs.response.card_challenge, hs.mode)
    r = _raw(card, Scp03Session(hs.keys, hs.mode, 0x01).external_authenticate_command(right))
    assert _refused(r), f"EXTERNAL AUTHENTICATE for a handshake made before a re-SELECT answered {r}"


@pytest.mark.requirement("GP-SCP-08")
def test_card_challenge_as_claimed(card: CardSession, profile: Profile) -> None:
    """The ICS decides the branch (ics.gp.i b5), never the card's own answer: a card that claims
    pseudo-random challenges must show them; one that claims random ones must send changing ones."""
    mode = modes(profile)[0]
    expected_i = claimed_i(profile, mode)
    assert select_sd(card, profile).ok
    ks = keyset(profile)
    layer = scp(card, profile, ks)
    answers = []
    for _ in range(2 if expected_i & I_PSEUDO_RANDOM else 8):
        response = layer.initialize_update(mode=mode).response
        assert response.i == expected_i, (
            f"INITIALIZE UPDATE answers i={response.i:02X}; the ICS claims i={gp_ics(profile).i} "
            f"({expected_i:02X} in {mode.name})"
        )
        answers.append(response)
    if not expected_i & I_PSEUDO_RANDOM:
        challenges = {a.card_challenge for a in answers}
        assert len(challenges) == len(answers), (
            f"{len(answers)} INITIALIZE UPDATEs gave only {len(challenges)} different card challenges; the "
            "ICS claims random card challenges (i b5 = 0)"
        )
        return
    first, second = answers
    assert second.sequence_counter == first.sequence_counter + 1, (
        f"sequence counter went {first.sequence_counter:06X} -> {second.sequence_counter:06X}"
    )
    expected = pseudo_random_challenge(ks.keys.enc, second.sequence_counter, sd_aid(profile), mode)
    assert hmac.compare_digest(expected, second.card_challenge), (
        "card challenge is not the Amd D §6.2.2.1 value"
    )
    # one counter per key set, in persistent memory: a power cycle does not take it back (Amd D §6.2.2.1)
    card.reset(cold=True)
    assert select_sd(card, profile).ok
    third = layer.initialize_update(mode=mode).response
    assert third.sequence_counter == second.sequence_counter + 1, (
        f"after a power cycle the sequence counter went {second.sequence_counter:06X} -> "
        f"{third.sequence_counter:06X}"
    )


@pytest.mark.requirement("GP-SCP-09")
@pytest.mark.effects("scp-counter", renewable=True)
def test_exhausted_counter(card: CardSession, profile: Profile, fresh_card: Any) -> None:
    """Runs the key set ixit.gp.exhaustion_kvn (one step from exhaustion) to its end: on a new card where the
    kit can renew one, else on a unit whose profile allows it; the key set stays unusable afterwards."""
    kvn = gp_ixit(profile).exhaustion_kvn
    if kvn is None:
        pytest.skip("not applicable: ixit.gp.exhaustion_kvn names no key set near exhaustion")
    if not gp_ics(profile).i & I_PSEUDO_RANDOM:
        pytest.skip("not applicable: the ICS claims random card challenges (i b5 = 0), which show no counter")
    ks = next((k for k in keysets(profile) if k.kvn == kvn), None)
    if ks is None:
        where = "ixit.gp.exhaustion_kvn"
        raise ProfileError(str(profile.path), where, f"names {kvn}, not in ixit.gp.keysets")
    session = fresh_card() if fresh_card is not None else card
    mode = modes(profile)[0]
    assert select_sd(session, profile).ok
    layer = scp(session, profile, ks)
    shown: list[int] = []
    refused: int | None = None
    for _ in range(3):  # one step from exhaustion: FFFFFF first, then refused; a little slack
        try:
            shown.append(layer.initialize_update(mode=mode).response.sequence_counter)
        except AuthenticationError as exc:
            if exc.sw is None:
                raise
            refused = exc.sw
            break
    assert shown, (
        f"INITIALIZE UPDATE refused key set {kvn} at once (SW {refused:04X}) without ever showing its "
        "sequence counter; ixit.gp.exhaustion_kvn names a key set one step from exhaustion, so it must first "
        "answer 9000 with counter FFFFFF"
    )
    steps = " -> ".join(f"{c:06X}" for c in shown)
    assert all(b == a + 1 for a, b in itertools.pairwise(shown)), (
        f"the sequence counter of key set {kvn} went {steps}, not up by one each time"
    )
    assert shown[-1] == MAX_SEQUENCE_COUNTER, (
        f"key set {kvn} was refused after counter {shown[-1]:06X}, before its counter reached FFFFFF"
    )
    assert refused == 0x6985, (
        f"INITIALIZE UPDATE after counter FFFFFF answered "
        f"{'9000' if refused is None else f'{refused:04X}'}; 6985 expected (Amd D §6.2.2.1)"
    )
    for when in ("again", "after a power cycle"):  # the counter never wraps, whatever happens
        if when == "after a power cycle":
            session.reset(cold=True)
        assert select_sd(session, profile).ok
        r = session.transmit(initialize_update_command(os.urandom(int(mode)), kvn))
        assert r.sw == 0x6985, (
            f"INITIALIZE UPDATE with the exhausted key set {kvn} {when} answered {r}; 6985 expected"
        )
    other = keyset(profile)  # only that key set is exhausted
    assert select_sd(session, profile).ok
    try:
        scp(session, profile, other).open(0x01, mode=mode)
    except AuthenticationError as exc:
        pytest.fail(f"after key set {kvn} was exhausted, key set {other.kvn} no longer opens: {exc}")


@pytest.mark.requirement("GP-SCP-10")
def test_apsd_has_its_own_key_set(card: CardSession, profile: Profile) -> None:
    mode = modes(profile)[0]
    own = keyset(profile, None, "apsd")
    try:
        layer = open_session(card, profile, 0x01, mode, sd="apsd")
    except AuthenticationError as exc:
        pytest.fail(f"the APSD does not open a session with its own key set {own.kvn}: {exc}")
    assert layer.send(GET_DATA_66).sw == 0x9000
    # one sequence counter per key set (Amd D §6.2.2.1): an ISD handshake does not move the APSD's counter
    assert select_sd(card, profile, "apsd").ok
    before = scp(card, profile, own, "apsd").initialize_update(mode=mode).response.sequence_counter
    assert select_sd(card, profile).ok
    scp(card, profile).initialize_update(mode=mode)
    assert select_sd(card, profile, "apsd").ok
    after = scp(card, profile, own, "apsd").initialize_update(mode=mode).response.sequence_counter
    if before is not None:
        assert after == before + 1, (
            f"the APSD's sequence counter went {before:06X} -> {after:06X} across one ISD handshake"
        )
    # the ISD's key sets open nothing on the APSD: neither one of the APSD's KVN nor one it does not hold
    for isd in keysets(profile, "isd"):
        if isd.kvn == gp_ixit(profile).exhaustion_kvn:
            continue
        assert select_sd(card, profile, "apsd").ok
        foreign = scp(card, profile, isd)
        foreign.sd_aid = sd_aid(profile, "apsd")
        try:
            foreign.open(0x01, kvn=isd.kvn, mode=mode)
        except AuthenticationError:
            continue
        pytest.fail(f"the APSD opened a session with the ISD's key set {isd.kvn}")


# -- session scope and error responses (Amd D §5.6, §6.2.5) -------------------------------------------------

SCOPES = [
    pytest.param("select", id="select"),
    pytest.param("reset", id="reset"),
    pytest.param("other-channel", id="other-channel"),
    pytest.param("closed-channel", id="closed-channel"),
]


@pytest.mark.requirement("GP-SCP-11")
@pytest.mark.parametrize("scope", SCOPES)
def test_session_scope(card: CardSession, profile: Profile, scope: str) -> None:
    """A session lives on one logical channel from EXTERNAL AUTHENTICATE until a selection on that channel,
    a reset or the channel's closing (Amd D §5.6; GPCS §10.2.3): a command wrapped in it is then refused."""
    channels = profile.ics.iso7816.logical_channels
    if scope in ("other-channel", "closed-channel") and channels < 2:
        pytest.skip(f"not applicable: ics.iso7816.logical_channels is {channels}")
    channel = 0
    if scope == "closed-channel":
        opened = card.open_channel()
        assert opened.ok and len(opened.data) == 1, f"MANAGE CHANNEL open answered {opened}"
        channel = opened.data[0]
        assert card.select(sd_aid(profile), channel=channel, p2=0x00).ok
    else:
        assert select_sd(card, profile).ok
    layer = scp(card, profile)
    layer.channel = channel
    session = layer.open(0x01, mode=modes(profile)[0])
    target = channel
    if scope == "select":
        assert select_sd(card, profile).ok
        what = "after a re-SELECT of the ISD"
    elif scope == "reset":
        card.reset()
        what = "after a warm reset"
    elif scope == "other-channel":
        opened = card.open_channel()
        assert opened.ok and len(opened.data) == 1, f"MANAGE CHANNEL open answered {opened}"
        target = opened.data[0]
        assert card.select(sd_aid(profile), channel=target, p2=0x00).ok
        what = f"on logical channel {target}, opened after the session on channel 0"
    else:
        assert card.close_channel(channel).ok
        reopened = card.send(0x00, 0x70, 0x00, channel)  # MANAGE CHANNEL open of that number (ISO 7816-4)
        if not reopened.ok:
            raise Inconclusive(f"MANAGE CHANNEL open of channel {channel} answered {reopened}")
        # no SELECT here, which would end any session by itself: opened from the basic channel, the new
        # channel has the default application (the ISD on a GP-SE, GPCS §11.7.2.1) selected
        what = f"after logical channel {channel} was closed and opened again"
    plain = CommandApdu(cla_with_channel(0x80, target), 0xCA, 0x00, 0x66, ne=256)
    r = _raw(card, session.wrap_command(plain))
    assert _refused(r), f"a command wrapped in the session {what} answered {r}; that session has ended"


def _r_mac_levels(profile: Profile) -> list[int]:
    return [lv for lv in gp_ics(profile).levels if lv & SecurityLevel.R_MAC]


@pytest.mark.requirement("GP-SCP-12")
def test_error_responses_carry_no_r_mac(card: CardSession, profile: Profile) -> None:
    """Amd D §6.2.5: a response with an error status word (anything but 9000, 62xx and 63xx) is the status
    word alone, with neither R-MAC nor encryption; the command still counts in the MAC chain (§6.2.3), so
    the session goes on."""
    levels = _r_mac_levels(profile)
    if not levels:
        pytest.skip("not applicable: ics.gp.levels claims no level with R-MAC")
    for level in levels:
        for mode in modes(profile):
            where = f"level {level:02X}, {mode.name}"
            session = _open(card, profile, level, mode).session
            r = _raw(card, session.wrap_command(GET_DATA_UNKNOWN))
            assert r.sw == 0x6A88, f"{where}: GET DATA of an unknown tag answered {r}; 6A88 expected"
            assert not r.data, (
                f"{where}: the error response {r.sw:04X} carried {len(r.data)} data bytes; an error response "
                "is the status word alone (Amd D §6.2.5)"
            )
            r = _raw(card, session.wrap_command(GET_DATA_66))
            assert r.sw == 0x9000, (
                f"{where}: after an error response the next command (MAC-chained on the failing one) "
                f"answered {r}; the session must go on"
            )
            try:
                session.unwrap_response(r)
            except SecureChannelError as exc:
                pytest.fail(f"{where}: the response after an error response does not verify: {exc}")
