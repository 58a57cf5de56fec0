"""SCP03 (Amd D) for a TSM that sends C-APDUs in scripts rather than one at a time: the handshake split
over two scripts (INITIALIZE UPDATE in one, EXTERNAL AUTHENTICATE in the next) and several wrapped commands
per script. Each R-MAC is computed over the C-MAC of its own command (Amd D §6.2.5) and each R-ENC uses
its command's counter (§6.2.7), so the state after wrapping each command is kept to unwrap its answer.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.scp03.errors import AuthenticationError
from jpkikit.vocab.scp03.handshake import (
    InitializeUpdateResponse,
    card_cryptogram,
    host_cryptogram,
    initialize_update_command,
    pseudo_random_challenge,
)
from jpkikit.vocab.scp03.keys import SessionKeys, StaticKeys
from jpkikit.vocab.scp03.levels import I_PSEUDO_RANDOM, Mode
from jpkikit.vocab.scp03.session import Scp03Session


class ScriptChannel:
    """``draw(n)`` gives the host challenge (the flow's journaled random source, so a replayed flow
    rebuilds the same session)."""

    def __init__(
        self,
        keys: StaticKeys,
        sd_aid: bytes,
        level: int,
        mode: Mode = Mode.S8,
        draw: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.keys, self.sd_aid, self.level, self.mode = keys, bytes(sd_aid), level, mode
        self.draw = draw
        self.host_challenge = b""
        self.session: Scp03Session | None = None
        self._states: list[tuple[bytes, int]] = []

    def initialize_update(self) -> CommandApdu:
        self.host_challenge = self.draw(int(self.mode))
        return initialize_update_command(self.host_challenge, self.keys.kvn)

    def external_authenticate(self, response: ResponseApdu) -> CommandApdu:
        """Check the INITIALIZE UPDATE answer; the EXTERNAL AUTHENTICATE to send (the session then opens)."""
        if response.sw != 0x9000:
            raise AuthenticationError(f"INITIALIZE UPDATE refused with SW {response.sw:04X}", response.sw)
        parsed = InitializeUpdateResponse.parse(response.data)
        if parsed.i & I_PSEUDO_RANDOM and parsed.sequence_counter is not None:
            expected = pseudo_random_challenge(
                self.keys.enc, parsed.sequence_counter, self.sd_aid, parsed.mode
            )
            if not hmac.compare_digest(expected, parsed.card_challenge):
                raise AuthenticationError("card challenge is not the pseudo-random one (Amd D §6.2.2.1)")
        keys = SessionKeys.derive(self.keys, self.host_challenge, parsed.card_challenge)
        mode = parsed.mode
        if not hmac.compare_digest(
            card_cryptogram(keys, self.host_challenge, parsed.card_challenge, mode), parsed.card_cryptogram
        ):
            raise AuthenticationError("card cryptogram does not verify")
        self.session = Scp03Session(keys, mode, self.level)
        hc = host_cryptogram(keys, self.host_challenge, parsed.card_challenge, mode)
        self._states = []
        return self.session.external_authenticate_command(hc)

    @property
    def wrapped_count(self) -> int:
        return len(self._states)

    def wrap(self, plain: CommandApdu) -> CommandApdu:
        assert self.session is not None, "wrap before EXTERNAL AUTHENTICATE"
        wrapped = self.session.wrap_command(plain)
        self._states.append((self.session.chain, self.session.counter))
        return wrapped

    def unwrap(self, index: int, response: ResponseApdu) -> ResponseApdu:
        """Unwrap the answer to the ``index``-th wrapped command of this session."""
        assert self.session is not None
        latest = (self.session.chain, self.session.counter)
        self.session.chain, self.session.counter = self._states[index]
        try:
            return self.session.unwrap_response(response)
        finally:
            self.session.chain, self.session.counter = latest
