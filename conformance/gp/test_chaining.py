"""GlobalPlatform command chaining of INSTALL, PUT KEY and STORE DATA as the ICS claims it (ics.gp.chaining;
GPCS v2.3.1 §11.1.5; docs/spec/globalplatform.md#command-chaining): a claimed chain does what the whole
command does, each of its commands protected by its own C-MAC; an unclaimed one is refused with 6A86."""

from __future__ import annotations

from typing import Any

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.scp03.handshake import initialize_update_command
from jpkikit.vocab.scp03.putkey import parse_put_key_response, put_key_command

from . import gp
from .gp import keyset, modes, open_session, select_sd

CHAINS = [
    pytest.param("install", id="install", marks=pytest.mark.effects("content")),
    pytest.param("put_key", id="put-key", marks=pytest.mark.effects("key-sets", renewable=True)),
    pytest.param("store_data", id="store-data", marks=pytest.mark.effects("content")),
]


def _session(card: CardSession, profile: Profile) -> Scp03Layer:
    return open_session(card, profile, 0x01, modes(profile)[0])


def _tampered(card: CardSession, layer: Scp03Layer, command: CommandApdu) -> bool:
    """Send ``command`` wrapped in the session with its C-MAC wrong in the last byte; True when refused."""
    assert layer.session is not None
    wire = bytearray(layer.session.wrap_command(command).to_bytes())
    wire[-2 if command.ne is not None else -1] ^= 0x01
    r = card.transmit(bytes(wire))
    return r.sw != 0x9000 and r.sw1 not in (0x61, 0x62, 0x63)


def _chain(layer: Scp03Layer, chain: list[CommandApdu], name: str) -> Any:
    first, last = chain
    r = layer.send(first)
    assert r.sw == 0x9000, f"the first {name} of a chain (P1 b8 set) answered {r}"
    return layer.send(last)


def _install(card: CardSession, profile: Profile, claimed: bool) -> None:
    layer = _session(card, profile)
    elf, module = gp.load_test_package(layer, profile)
    aid = gp.instance_aid(module)
    chain = gp.chained(gp.install_for_install(elf, module, aid, selectable=True), 10)
    try:
        if not claimed:
            r = layer.send(chain[0])
            assert r.sw == 0x6A86, (
                f"a chained INSTALL (P1 b8), not claimed by the ICS, answered {r}; 6A86 expected"
            )
            assert gp.status_of(layer, aid) is None, "the refused INSTALL chain installed the application"
            return
        assert layer.send(chain[0]).sw == 0x9000, "the first INSTALL of a chain (P1 b8 set) was refused"
        assert _tampered(card, layer, chain[1]), (
            "the INSTALL continuing a chain with a wrong C-MAC was accepted"
        )
        layer = _session(card, profile)
        assert gp.status_of(layer, aid) is None, "an INSTALL chain whose last command was refused took effect"
        r = _chain(layer, chain, "INSTALL")
        assert r.sw == 0x9000, f"the last INSTALL of a chain answered {r}"
        state = gp.status_of(layer, aid)
        shown = "not listed" if state is None else f"{state:02X}"
        assert state == 0x07, f"after the INSTALL chain the application is {shown}, not SELECTABLE (07)"
    finally:
        layer = _session(card, profile)
        gp.remove_test_package(layer, elf)


def _put_key(card: CardSession, profile: Profile, claimed: bool) -> None:
    base = keyset(profile)
    mode = modes(profile)[0]
    (kvn,) = gp.free_kvns(profile, 1)
    new = gp.new_keys(base.length, kvn)
    command = put_key_command(new, base.keys.dek)
    component = (len(command.data) - 1) // 3
    chain = gp.chained(command, 1 + component)  # the new KVN and the first key; then the other two
    layer = _session(card, profile)
    try:
        if not claimed:
            r = layer.send(chain[0])
            assert r.sw == 0x6A86, (
                f"a chained PUT KEY (P1 b8), not claimed by the ICS, answered {r}; 6A86 expected"
            )
            layer.end()
            assert select_sd(card, profile).ok
            r = card.transmit(initialize_update_command(bytes(int(mode)), kvn))
            assert r.sw == 0x6A88, (
                f"the refused PUT KEY chain added key set {kvn:02X} (INITIALIZE UPDATE: {r})"
            )
            return
        assert layer.send(chain[0]).sw == 0x9000, "the first PUT KEY of a chain (P1 b8 set) was refused"
        assert _tampered(card, layer, chain[1]), (
            "the PUT KEY continuing a chain with a wrong C-MAC was accepted"
        )
        assert not gp.opens(card, profile, new, mode), (
            "a PUT KEY chain whose last command was refused took effect"
        )
        layer = _session(card, profile)
        r = _chain(layer, chain, "PUT KEY")
        assert r.sw == 0x9000, f"the last PUT KEY of a chain answered {r}"
        answered = parse_put_key_response(r.data)
        assert answered == (kvn, list(new.kcvs())), "the PUT KEY chain answered other key check values"
        assert gp.opens(card, profile, new, mode), (
            f"the key set {kvn:02X} a PUT KEY chain added does not open"
        )
    finally:
        if gp.gp_ics(profile).delete_keys:
            _session(card, profile).send(gp.delete_key(kvn))


def _store_data(card: CardSession, profile: Profile, claimed: bool) -> None:
    layer = _session(card, profile)
    elf, module = gp.load_test_package(layer, profile)
    aid = gp.instance_aid(module)
    blocks = [Tlv(0xDF21, b"block 00").encode(), Tlv(0xDF22, b"block 01").encode()]
    try:
        assert layer.send(gp.install_for_install(elf, module, aid)).sw == 0x9000
        assert layer.send(gp.install_for_personalization(aid)).sw == 0x9000
        r = layer.send(gp.store_data(blocks[0], 0x00, last=False))
        if not claimed:
            assert r.sw == 0x6A86, (
                f"STORE DATA block 00 that is not the last, chaining not claimed by the ICS, answered {r}; "
                "6A86 expected"
            )
            layer.end()
            got = gp.app_data(card, aid, 0xDF21)
            assert got is None, "the refused STORE DATA block reached the application"
            return
        assert r.sw == 0x9000, f"STORE DATA block 00 (not the last) answered {r}"
        assert _tampered(card, layer, gp.store_data(blocks[1], 0x01)), (
            "STORE DATA block 01 with a wrong C-MAC was accepted"
        )
        layer.end()
        assert gp.app_data(card, aid, 0xDF22) is None, (
            "STORE DATA block 01 with a wrong C-MAC reached the application"
        )
        layer = _session(card, profile)
        assert layer.send(gp.install_for_personalization(aid)).sw == 0x9000
        r = layer.send(gp.store_data(blocks[0], 0x00, last=False))
        assert r.sw == 0x9000, f"STORE DATA block 00 (not the last) answered {r}"
        r = layer.send(gp.store_data(blocks[1], 0x01, last=True))
        assert r.sw == 0x9000, f"STORE DATA block 01 (the last) answered {r}"
        layer.end()
        for n, (tag, block) in enumerate(((0xDF21, blocks[0]), (0xDF22, blocks[1]))):
            got = gp.app_data(card, aid, tag)
            assert got == block, f"STORE DATA block {n:02X} of two did not reach the application"
    finally:
        layer = _session(card, profile)
        gp.remove_test_package(layer, elf)


@pytest.mark.requirement("GP-CM-05")
@pytest.mark.parametrize("command", CHAINS)
def test_command_chaining(card: CardSession, profile: Profile, fresh_card: Any, command: str) -> None:
    """Content tests load, install and delete the kit's test package; the PUT KEY chain adds a key set (on a
    new card where the kit can renew one; deleted again where ics.gp.delete_keys is claimed)."""
    claimed = getattr(gp.gp_ics(profile).chaining, command)
    if command == "put_key":
        _put_key(fresh_card() if fresh_card is not None else card, profile, claimed)
    elif command == "install":
        _install(card, profile, claimed)
    else:
        _store_data(card, profile, claimed)
