"""SCP03 through real PC/SC: the host side (Scp03Layer over PcscTransport) against the emulator's ISD served
behind pcscd by the vsmartcard-vpcd driver. Skipped, with the reason, only when pcscd or vpcd is missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jpkikit.host.card_session import GetResponseLayer
from jpkikit.host.pcsc import PcscTransport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.reference.emulator.gp.issuance import ISD_KEYS
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.gp.constants import ISD_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.scp03 import Mode, StaticKeys

from .pcsc_support import READER, require_free_slot, served


@pytest.fixture
def transport() -> Iterator[PcscTransport]:
    require_free_slot()
    with served(Card(get_personality("gp-se"))), PcscTransport(READER, timeout=5) as link:
        yield link  # type: ignore[misc]


@pytest.mark.pcsc
@pytest.mark.parametrize(("kvn", "mode"), [(0x30, Mode.S8), (0x32, Mode.S16)])
def test_scp03_session_through_pcscd(transport: PcscTransport, kvn: int, mode: Mode) -> None:
    layer = Scp03Layer(transport, StaticKeys.single(ISD_KEYS[kvn], kvn), sd_aid=ISD_AID)
    link = GetResponseLayer(layer)
    assert link.transmit(bytes.fromhex("00A4040C08") + ISD_AID)[-2:] == b"\x90\x00"
    layer.open(0x33, mode=mode)
    status = layer.send(CommandApdu(0x80, 0xF2, 0x40, 0x02, b"\x4f\x00", ne=256))
    assert status.sw == 0x9000 and status.data[:1] == b"\xe3"
    data = layer.send(CommandApdu(0x80, 0xCA, 0x00, 0x66))  # case 1: data via 61xx, R-MAC over all of it
    assert data.sw == 0x9000 and data.data[:1] == b"\x66"
