"""The SIM design's additions to the JPKI applet's command set (kit-defined, like the provisioning command set
of jpkikit.vocab.jpki.provisioning; docs/spec/uicc.md#the-jpki-applet-on-the-uicc): binding the applet to its
handset (seed 000 §3 課題③, §4(2)), and the off-card key pair delivered in blocks to a UICC that takes only
short APDUs (seed 003 §1(1)イ; seed 001 §5(1); the package itself is provisioning.key_package).

- BIND HANDSET ``80 30 00 00``, inside the SP security domain's SCP03 session (through the applet, as every
  provisioning command): binds the applet to the handset whose IMEI the UICC learned in this power session
  (PROVIDE LOCAL INFORMATION, jpkikit.vocab.etsi.cat). ``6985`` when the UICC knows no handset.
- PUT KEY PAIR ``80 1E P1 P2``: P1 ``80`` = more blocks follow, ``00`` = the last (or only) block; the blocks
  concatenated are the key package. P2 = the key slot.
- Once bound, SELECT of the applet from another handset, from no handset (a card reader), or over the
  contactless interface while the phone is off, is refused with ``6985`` (conditions of use not satisfied).
"""

from __future__ import annotations

from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.provisioning import CLA, INS_PUT_KEY_PAIR, MORE_BLOCKS

INS_BIND_HANDSET = 0x30
SIM_INS = frozenset({INS_BIND_HANDSET})
#: The status word of a SELECT the handset binding refuses.
REFUSED_SW = SW.CONDITIONS_NOT_SATISFIED
#: Key package bytes per PUT KEY PAIR block: a short APDU after SCP03 padding and the C-MAC.
KEY_BLOCK = 200


def bind_handset() -> CommandApdu:
    return CommandApdu(CLA, INS_BIND_HANDSET, 0, 0)


def put_key_pair_blocks(slot: int, package: bytes, block: int = KEY_BLOCK) -> list[CommandApdu]:
    """PUT KEY PAIR in blocks of at most ``block`` bytes (P1 80 on all but the last)."""
    chunks = [package[i : i + block] for i in range(0, len(package), block)] or [b""]
    return [
        CommandApdu(CLA, INS_PUT_KEY_PAIR, 0 if n == len(chunks) - 1 else MORE_BLOCKS, slot, chunk)
        for n, chunk in enumerate(chunks)
    ]
