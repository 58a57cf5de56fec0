"""SCP03 host side against card side: hypothesis round-trips of wrap/unwrap at every level, key length and
mode, the encryption counter, MAC chaining, aborts, malformed input, PUT KEY and KCVs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jpkikit.host.link import Transport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.reference.emulator.gp.secure_channel import CardSecureChannel, ChannelState
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.scp03 import Mode, Scp03Error, SecureChannelError, StaticKeys
from jpkikit.vocab.scp03.crypto import kcv, pad80, unpad80
from jpkikit.vocab.scp03.handshake import InitializeUpdateResponse, initialize_update_command
from jpkikit.vocab.scp03.keys import SessionKeys
from jpkikit.vocab.scp03.levels import PROTECTED_LEVELS
from jpkikit.vocab.scp03.putkey import (
    PutKeyError,
    encode_aes_key,
    parse_key_data,
    parse_put_key_response,
    put_key_command,
)
from jpkikit.vocab.scp03.session import Scp03Session

SD_AID = bytes.fromhex("A000000151000000")
KEY = bytes(range(0x40, 0x50))


class EchoCard(Transport):
    """A minimal card around CardSecureChannel: IU/EA, then echoes the plain command data (so what the
    host sent is what comes back) with SW 9000; INS 01 answers an error SW."""

    description = "echo card"

    def __init__(self, keys: StaticKeys, i: int = 0x70) -> None:
        self.keys, self.i, self.counter = keys, i, 0
        self.sc = CardSecureChannel(SD_AID)
        self.seen: list[CommandApdu] = []

    def transmit(self, command: bytes) -> bytes:
        apdu = CommandApdu.parse(command)
        if apdu.ins == 0x50:
            self.counter += 1
            i = self.i | (1 if len(apdu.data) == 16 else 0)
            return self.sc.initialize_update(apdu, self.keys, i, self.counter).to_bytes()
        if apdu.ins == 0x82 and self.sc.state is ChannelState.PENDING:
            return self.sc.external_authenticate(apdu).to_bytes()
        plain = self.sc.unwrap(apdu)
        if isinstance(plain, ResponseApdu):
            return plain.to_bytes()
        self.seen.append(plain)
        response = ResponseApdu(b"", 0x6A80) if plain.ins == 0x01 else ResponseApdu(plain.data, 0x9000)
        return self.sc.wrap(response).to_bytes()

    def reset(self, cold: bool = False) -> bytes:
        self.sc.terminate()
        return b"\x3b\x00"

    @property
    def atr(self) -> bytes:
        return b"\x3b\x00"

    def close(self) -> None:
        pass


def keyset(length: int, kvn: int = 0x30) -> StaticKeys:
    return StaticKeys(bytes(range(length)), bytes(range(1, length + 1)), bytes(range(2, length + 2)), kvn)


def opened(length: int, level: int, mode: Mode) -> tuple[Scp03Layer, EchoCard]:
    keys = keyset(length)
    card = EchoCard(keys)
    layer = Scp03Layer(card, keys, sd_aid=SD_AID)
    layer.open(level, mode=mode)
    return layer, card


commands = st.builds(
    CommandApdu,
    cla=st.sampled_from([0x80, 0x00, 0x81, 0x02]).map(lambda c: c & ~0x03),
    ins=st.sampled_from([0xCA, 0xF2, 0xE2, 0xE6, 0xB0]),
    p1=st.integers(0, 255),
    p2=st.integers(0, 255),
    data=st.binary(max_size=300),
    ne=st.sampled_from([None, 256]),
)


@settings(max_examples=60, deadline=None)
@given(
    length=st.sampled_from([16, 24, 32]),
    level=st.sampled_from(PROTECTED_LEVELS),
    mode=st.sampled_from(list(Mode)),
    batch=st.lists(commands, min_size=1, max_size=5),
)
def test_round_trip(length: int, level: int, mode: Mode, batch: list[CommandApdu]) -> None:
    layer, card = opened(length, level, mode)
    for n, plain in enumerate(batch, 1):
        response = layer.send(plain)
        assert response == ResponseApdu(plain.data, 0x9000)
        assert card.seen[-1].data == plain.data and card.seen[-1].header[1:] == plain.header[1:]
        assert layer.session is not None and card.sc.session is not None
        assert layer.session.counter == card.sc.session.counter == n
        assert layer.session.chain == card.sc.session.chain


@pytest.mark.parametrize("level", PROTECTED_LEVELS)
def test_counter_counts_commands_without_data(level: int) -> None:
    layer, card = opened(16, level, Mode.S8)
    layer.send(CommandApdu(0x80, 0xCA, 0x00, 0x66))  # case 1, no data: still consumes a counter value
    wrapped = layer.session.wrap_command(CommandApdu(0x80, 0xE2, 0x90, 0x00, b"\x01\x02"))  # type: ignore[union-attr]
    assert layer.session.counter == 2  # type: ignore[union-attr]
    assert ResponseApdu.parse(card.transmit(wrapped.to_bytes())).sw == 0x9000
    assert card.sc.session is not None and card.sc.session.counter == 2


def test_c_decryption_hides_data_and_c_mac_length() -> None:
    layer, _card = opened(16, 0x03, Mode.S8)
    wrapped = layer.session.wrap_command(CommandApdu(0x80, 0xE2, 0x90, 0x00, b"secret"))  # type: ignore[union-attr]
    assert wrapped.cla == 0x84 and len(wrapped.data) == 16 + 8 and b"secret" not in wrapped.data
    layer16, _ = opened(32, 0x01, Mode.S16)
    wrapped = layer16.session.wrap_command(CommandApdu(0x80, 0xCA, 0x00, 0x66))  # type: ignore[union-attr]
    assert wrapped.data.__len__() == 16 and wrapped.to_bytes()[4] == 0x10


def test_channel_bits_kept_on_wire_not_in_mac() -> None:
    keys = keyset(16)
    session_a = Scp03Session(SessionKeys(keys.enc, keys.mac, keys.mac), Mode.S8, 0x01)
    session_b = Scp03Session(SessionKeys(keys.enc, keys.mac, keys.mac), Mode.S8, 0x01)
    a = session_a.wrap_command(CommandApdu(0x80, 0xCA, 0, 0x66))
    b = session_b.wrap_command(CommandApdu(0x83, 0xCA, 0, 0x66))
    assert a.cla == 0x84 and b.cla == 0x87 and a.data == b.data


def test_tampered_command_aborts_card_session() -> None:
    layer, card = opened(16, 0x01, Mode.S8)
    wrapped = layer.session.wrap_command(CommandApdu(0x80, 0xCA, 0x00, 0x66, ne=256))  # type: ignore[union-attr]
    raw = bytearray(wrapped.to_bytes())
    raw[-2] ^= 0x01
    assert ResponseApdu.parse(card.transmit(bytes(raw))).sw == 0x6982
    assert card.sc.state is ChannelState.ABORTED
    # even a correctly wrapped next command is refused until a new INITIALIZE UPDATE
    assert (
        ResponseApdu.parse(
            card.transmit(layer.session.wrap_command(CommandApdu(0x80, 0xCA, 0, 0x66)).to_bytes())
        ).sw
        == 0x6985
    )  # type: ignore[union-attr]


def test_replay_and_plain_command_abort() -> None:
    layer, card = opened(16, 0x01, Mode.S8)
    wrapped = layer.session.wrap_command(CommandApdu(0x80, 0xCA, 0x00, 0x66))  # type: ignore[union-attr]
    assert ResponseApdu.parse(card.transmit(wrapped.to_bytes())).sw == 0x9000
    assert (
        ResponseApdu.parse(card.transmit(wrapped.to_bytes())).sw == 0x6982
    )  # replay: chaining value moved on
    layer, card = opened(16, 0x01, Mode.S8)
    assert ResponseApdu.parse(card.transmit(bytes.fromhex("80CA006600"))).sw == 0x6982  # below session level


def test_wrong_host_cryptogram_gives_6300_and_no_session() -> None:
    keys = keyset(16)
    card = EchoCard(keys)
    layer = Scp03Layer(card, keys)
    layer.initialize_update()
    with pytest.raises(Scp03Error) as info:
        layer.external_authenticate(0x01, cryptogram=b"\x00" * 8)
    assert getattr(info.value, "sw", None) == 0x6300
    assert card.sc.state is ChannelState.IDLE and layer.session is None


def test_wrong_keys_detected_by_card_cryptogram() -> None:
    card = EchoCard(keyset(16))
    layer = Scp03Layer(card, StaticKeys.single(KEY, 0x30))
    with pytest.raises(Scp03Error, match="card cryptogram"):
        layer.initialize_update()


def test_pseudo_random_challenge_checked() -> None:
    keys = keyset(16)
    layer = Scp03Layer(EchoCard(keys), keys, sd_aid=bytes.fromhex("A0000001510000"))
    with pytest.raises(Scp03Error, match="pseudo-random"):
        layer.initialize_update()


def test_r_mac_failure_closes_host_session() -> None:
    layer, _ = opened(16, 0x11, Mode.S8)
    session = layer.session
    assert session is not None
    session.wrap_command(CommandApdu(0x80, 0xCA, 0, 0x66))
    with pytest.raises(SecureChannelError, match="R-MAC"):
        session.unwrap_response(ResponseApdu(b"\x01" * 12, 0x9000))
    assert session.closed
    with pytest.raises(SecureChannelError):
        session.wrap_command(CommandApdu(0x80, 0xCA, 0, 0x66))


def test_error_responses_carry_no_r_mac() -> None:
    layer, _ = opened(16, 0x33, Mode.S8)
    assert layer.send(CommandApdu(0x80, 0x01, 0, 0)) == ResponseApdu(b"", 0x6A80)
    assert layer.send(CommandApdu(0x80, 0xCA, 0, 0, b"ok", ne=256)).data == b"ok"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (bytes(10) + b"\x30\x02\x70" + bytes(16), "not SCP03"),
        (bytes(10) + b"\x30\x03\x70" + bytes(16), "needs 32"),
        (bytes(10) + b"\x30\x03\x71" + bytes(33), "needs 48"),
        (bytes(10) + b"\x30\x03\x00" + bytes(17), "needs 29"),
    ],
)
def test_garbage_initialize_update_response(data: bytes, message: str) -> None:
    with pytest.raises(Scp03Error, match=message):
        InitializeUpdateResponse.parse(data)


def test_short_r_mac_and_bad_padding() -> None:
    layer, _ = opened(16, 0x33, Mode.S8)
    session = layer.session
    assert session is not None
    session.wrap_command(CommandApdu(0x80, 0xCA, 0, 0x66))
    with pytest.raises(SecureChannelError, match="requires"):
        session.unwrap_response(ResponseApdu(b"\x01\x02", 0x9000))


def test_ext_auth_wrong_length_and_level() -> None:
    keys = keyset(16)
    for level, sw in ((0x21, 0x6A86), (0x01, 0x6700)):
        card = EchoCard(keys, i=0x70)
        layer = Scp03Layer(card, keys)
        hs = layer.initialize_update()
        session = Scp03Session(hs.keys, Mode.S8, 0x01)
        cmd = session.external_authenticate_command(b"\x00" * 8)
        cmd = CommandApdu(cmd.cla, cmd.ins, level, 0, cmd.data[: 16 if level == 0x21 else 10])
        assert ResponseApdu.parse(card.transmit(cmd.to_bytes())).sw == sw


def test_level_needs_i_support() -> None:
    keys = keyset(16)
    layer = Scp03Layer(EchoCard(keys, i=0x10), keys)
    layer.initialize_update()
    with pytest.raises(Scp03Error, match="does not offer"):
        layer.external_authenticate(0x11)


def test_host_challenge_lengths() -> None:
    with pytest.raises(Scp03Error):
        initialize_update_command(b"\x00" * 7)
    keys = keyset(16)
    card = EchoCard(keys)
    assert ResponseApdu.parse(card.transmit(bytes.fromhex("8050000009") + bytes(9) + b"\x00")).sw == 0x6700


def test_reprs_hide_keys() -> None:
    keys = StaticKeys.single(KEY, 0x30)
    layer, _ = opened(16, 0x33, Mode.S8)
    text = " ".join(repr(x) for x in (keys, layer, layer.session, layer.session.keys))  # type: ignore[union-attr]
    assert KEY.hex() not in text.lower() and "404142" not in text
    assert "504A77" in repr(keys)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (bytes(range(0x40, 0x50)), "504a77"),
        (bytes(range(0x00, 0x10)), "c35280"),
        (bytes(range(0x10, 0x20)), "013808"),
        (bytes(range(0x20, 0x30)), "840de5"),
    ],
)
def test_kcv(key: bytes, expected: str) -> None:
    assert kcv(key).hex() == expected


@given(st.binary(max_size=100))
def test_padding_round_trip(data: bytes) -> None:
    padded = pad80(data)
    assert len(padded) % 16 == 0 and len(padded) > len(data)
    assert unpad80(padded) == data


@pytest.mark.parametrize("bad", [b"", bytes(16), b"\x80" + bytes(31), b"\x01" * 16])
def test_bad_padding(bad: bytes) -> None:
    with pytest.raises(Scp03Error):
        unpad80(bad)


@settings(max_examples=30, deadline=None)
@given(length=st.sampled_from([16, 24, 32]), long_form=st.booleans(), kvn=st.integers(1, 0x7F))
def test_put_key_round_trip(length: int, long_form: bool, kvn: int) -> None:
    if length == 24:
        long_form = True
    dek = bytes(range(0x40, 0x50))
    new = keyset(length, kvn)
    command = put_key_command(new, dek, long_form=long_form)
    assert command.p2 == 0x81
    parsed_kvn, components = parse_key_data(command.data, dek)
    assert parsed_kvn == kvn
    assert [c.key for c in components] == [new.enc, new.mac, new.dek]
    response = bytes((kvn,)) + b"".join(c.kcv for c in components)
    assert parse_put_key_response(response) == (kvn, list(new.kcvs()))


def test_put_key_errors() -> None:
    dek = bytes(16)
    good = encode_aes_key(dek, bytes(range(16)))
    with pytest.raises(PutKeyError) as info:
        parse_key_data(b"\x31" + good[:-1] + bytes((good[-1] ^ 1,)), dek)
    assert info.value.sw == 0x6982
    for bad in (b"", b"\x31\x80\x11", b"\x31\x88\x11" + bytes(5), b"\x31" + good[:-4]):
        with pytest.raises(PutKeyError) as info:
            parse_key_data(bad, dek)
        assert info.value.sw == 0x6A80
    with pytest.raises(Scp03Error):
        encode_aes_key(dek, bytes(24), long_form=False)
    with pytest.raises(Scp03Error):
        parse_put_key_response(b"\x30\x01")
