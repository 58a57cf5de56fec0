"""Cross-check against a public SCP03 trace not produced by this kit: a GlobalPlatformPro session at
level 11 with the 40..4F test keys (host challenge 578E2189E0165680, card challenge C97B56DFA8530D14), as
quoted as test data in a public SCP03 implementation's unit tests (public code index id 69548607229).
Facts only, no code."""

from __future__ import annotations

from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.scp03 import Mode, SessionKeys, StaticKeys
from jpkikit.vocab.scp03.handshake import card_cryptogram, host_cryptogram
from jpkikit.vocab.scp03.session import Scp03Session

KEYS = StaticKeys.single(bytes.fromhex("404142434445464748494A4B4C4D4E4F"), 0x30)
HOST = bytes.fromhex("578E2189E0165680")
CARD = bytes.fromhex("C97B56DFA8530D14")


def test_gppro_level11_trace() -> None:
    keys = SessionKeys.derive(KEYS, HOST, CARD)
    assert card_cryptogram(keys, HOST, CARD, Mode.S8).hex().upper() == "90F014B782326233"
    host_side = Scp03Session(keys, Mode.S8, 0x11)
    ea = host_side.external_authenticate_command(host_cryptogram(keys, HOST, CARD, Mode.S8))
    assert ea.to_bytes().hex().upper() == "848211001014D85FD473773D1ADFF1083C74C9C21D"
    wrapped = host_side.wrap_command(CommandApdu(0x80, 0xF2, 0x80, 0x02, b"\x4f\x00", ne=256))
    assert wrapped.to_bytes().hex().upper() == "84F280020A4F004927FCE085AD3AC600"
    data = bytes.fromhex("E3264F08A0000001510000009F700101C5039EFE80C407A0000001515350CC08A000000151000000")
    # the card side, fed the same commands, produces the R-MAC of the trace
    card_side = Scp03Session(keys, Mode.S8, 0x11)
    assert card_side.verify_external_authenticate(CommandApdu.parse(ea.to_bytes())) == ea.data[:8]
    assert card_side.unwrap_command(CommandApdu.parse(wrapped.to_bytes())).data == b"\x4f\x00"
    response = card_side.wrap_response(ResponseApdu(data, 0x9000))
    assert response.data[-8:].hex().upper() == "6BAE3EFF2B476D04"
    assert host_side.unwrap_response(response) == ResponseApdu(data, 0x9000)
