"""Key sets: PUT KEY of a new key set and DELETE [key] (GPCS v2.3.1 §11.8, §11.2.2.3;
docs/spec/globalplatform.md#delete-of-keys)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.scp03 import StaticKeys
from jpkikit.vocab.scp03.handshake import initialize_update_command
from jpkikit.vocab.scp03.putkey import parse_put_key_response, put_key_command

from . import gp
from .gp import keyset, keysets, modes, open_session, select_sd


def add_key_set(layer: Scp03Layer, new: StaticKeys, dek: bytes) -> None:
    """PUT KEY of a new key set (P1 00); the card answers its KVN and the three key check values."""
    r = layer.send(put_key_command(new, dek))
    assert r.sw == 0x9000, f"PUT KEY of a new key set {new.kvn:02X} answered {r}"
    answered = parse_put_key_response(r.data)
    assert answered == (new.kvn, list(new.kcvs())), (
        f"PUT KEY answered KVN {answered[0]:02X} and KCVs {' '.join(k.hex().upper() for k in answered[1])}; "
        f"the keys sent have {new.kvn:02X} and {' '.join(k.hex().upper() for k in new.kcvs())}"
    )


@pytest.mark.requirement("GP-KEY-01")
@pytest.mark.effects("key-sets", renewable=True)
def test_delete_keys(card: CardSession, profile: Profile, fresh_card: Any) -> None:
    """Adds two key sets of its own and deletes them again: on a new card where the kit can renew one, else
    on a unit whose profile allows key-set changes."""
    session = fresh_card() if fresh_card is not None else card
    mode = modes(profile)[0]
    base = keyset(profile)
    whole, partial = (gp.new_keys(base.length, kvn) for kvn in gp.free_kvns(profile, 2))
    layer = open_session(session, profile, 0x01, mode)
    add_key_set(layer, whole, base.keys.dek)
    try:
        assert gp.opens(session, profile, whole, mode), (
            f"the key set {whole.kvn:02X} PUT KEY added does not open"
        )
        layer = open_session(session, profile, 0x01, mode)
        r = layer.send(gp.delete_key(whole.kvn))
        assert r.sw == 0x9000, f"DELETE [key] of key set {whole.kvn:02X} (D2) answered {r}"
        layer.end()
        assert select_sd(session, profile).ok
        r = session.transmit(initialize_update_command(os.urandom(int(mode)), whole.kvn))
        assert r.sw == 0x6A88, (
            f"INITIALIZE UPDATE with the deleted key set {whole.kvn:02X} answered {r}; 6A88 expected"
        )
        layer = open_session(session, profile, 0x01, mode)
        listed = sorted({kid for kid, kvn, _, _ in gp.key_information(layer) if kvn == whole.kvn})
        assert not listed, f"GET DATA E0 still lists keys {listed} of the deleted key set {whole.kvn:02X}"
        r = layer.send(gp.delete_key(whole.kvn))
        assert r.sw == 0x6A88, (
            f"a second DELETE of key set {whole.kvn:02X}, no longer present, answered {r}; 6A88 expected"
        )
        for ks in keysets(profile):
            if ks.kvn != gp.gp_ixit(profile).exhaustion_kvn:
                assert gp.opens(session, profile, ks.keys, mode), (
                    f"after DELETE of key set {whole.kvn:02X}, the profile's key set {ks.kvn} no longer opens"
                )
        # one key: D0 with D2 removes key 01 of the version and leaves 02 and 03
        layer = open_session(session, profile, 0x01, mode)
        add_key_set(layer, partial, base.keys.dek)
        r = layer.send(gp.delete_key(partial.kvn, kid=0x01))
        assert r.sw == 0x9000, f"DELETE [key] of key 01 of key set {partial.kvn:02X} (D0 D2) answered {r}"
        listed = sorted({kid for kid, kvn, _, _ in gp.key_information(layer) if kvn == partial.kvn})
        assert listed == [2, 3], (
            f"after deleting key 01 of key set {partial.kvn:02X}, GET DATA E0 lists its keys {listed}; "
            "[2, 3] expected"
        )
    finally:
        layer = open_session(session, profile, 0x01, mode)
        for kvn in (whole.kvn, partial.kvn):
            layer.send(gp.delete_key(kvn))  # leave no key set of the test behind
