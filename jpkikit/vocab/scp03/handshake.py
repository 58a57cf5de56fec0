"""Mutual authentication: INITIALIZE UPDATE and EXTERNAL AUTHENTICATE encodings, the card and host
cryptograms and the pseudo-random card challenge (Amd D §6.2.2, §6.2.2.1, §7.1.1, §7.1.2; GPCS D.4/E.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from jpkikit.vocab.gp.constants import INS_INITIALIZE_UPDATE
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.scp03.errors import Scp03Error
from jpkikit.vocab.scp03.kdf import DerivationConstant, derive
from jpkikit.vocab.scp03.keys import SessionKeys
from jpkikit.vocab.scp03.layouts import (  # DIVERSIFICATION_LENGTH, SCP03: the card side takes them from here
    COUNTER_LENGTH,
    DIVERSIFICATION_LENGTH,  # noqa: F401
    INITIALIZE_UPDATE_FIELDS,
    SCP03,  # noqa: F401
    build_initialize_update_response,
    parse_initialize_update_response,
)
from jpkikit.vocab.scp03.levels import Mode, mode_from_i

MAX_SEQUENCE_COUNTER = (1 << 24) - 1


def card_cryptogram(keys: SessionKeys, host_challenge: bytes, card_challenge: bytes, mode: Mode) -> bytes:
    return derive(
        keys.s_mac, DerivationConstant.CARD_CRYPTOGRAM, host_challenge + card_challenge, mode.length_bits
    )


def host_cryptogram(keys: SessionKeys, host_challenge: bytes, card_challenge: bytes, mode: Mode) -> bytes:
    return derive(
        keys.s_mac, DerivationConstant.HOST_CRYPTOGRAM, host_challenge + card_challenge, mode.length_bits
    )


def pseudo_random_challenge(static_enc: bytes, sequence_counter: int, sd_aid: bytes, mode: Mode) -> bytes:
    """§6.2.2.1: derived from the static Key-ENC over sequence counter (3 bytes) || AID of the SD."""
    if not 0 <= sequence_counter <= MAX_SEQUENCE_COUNTER:
        raise Scp03Error(f"sequence counter {sequence_counter} does not fit in 3 bytes")
    context = sequence_counter.to_bytes(COUNTER_LENGTH, "big") + bytes(sd_aid)
    return derive(static_enc, DerivationConstant.CARD_CHALLENGE, context, mode.length_bits)


def initialize_update_command(host_challenge: bytes, kvn: int = 0x00, cla: int = 0x80) -> CommandApdu:
    """``80 50 KVN 00 Lc host-challenge 00`` (Lc 08 in S8 mode, 10 in S16 mode)."""
    if len(host_challenge) not in (8, 16):
        raise Scp03Error(f"host challenge must be 8 (S8) or 16 (S16) bytes, got {len(host_challenge)}")
    return CommandApdu(cla, INS_INITIALIZE_UPDATE, kvn, 0x00, bytes(host_challenge), ne=256)


@dataclass(frozen=True)
class InitializeUpdateResponse:
    """The INITIALIZE UPDATE response data (Amd D Table 7-2); the layout is
    :data:`jpkikit.vocab.scp03.layouts.INITIALIZE_UPDATE_RESPONSE`."""

    diversification: bytes
    kvn: int
    scp: int
    i: int
    card_challenge: bytes
    card_cryptogram: bytes
    sequence_counter: int | None = None

    @property
    def mode(self) -> Mode:
        return mode_from_i(self.i)

    def to_bytes(self) -> bytes:
        """Scp03Error when the fields do not fit Table 7-2 for this i (challenge or cryptogram of the wrong
        length for the mode, a sequence counter present exactly when i b5 is set)."""
        return build_initialize_update_response({n: getattr(self, n) for n in INITIALIZE_UPDATE_FIELDS})

    @classmethod
    def parse(cls, data: bytes) -> InitializeUpdateResponse:
        """Decode the response; lengths follow from the i parameter: 29/32 bytes (S8) or 45/48 (S16)."""
        return cls(**parse_initialize_update_response(data))
