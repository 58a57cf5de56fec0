"""The card side: one :class:`CardSecureChannel` per logical channel of a security domain (Amd D §5.6 and
§7.1). The security domain resolves key sets, keeps and increments the sequence counter and calls in here;
this object holds the handshake and the session, and decides which status word a bad command gets.
"""

from __future__ import annotations

import hmac
import os
from enum import Enum

from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.scp03.errors import SecureChannelError
from jpkikit.vocab.scp03.handshake import (
    DIVERSIFICATION_LENGTH,
    SCP03,
    InitializeUpdateResponse,
    card_cryptogram,
    host_cryptogram,
    pseudo_random_challenge,
)
from jpkikit.vocab.scp03.keys import SessionKeys, StaticKeys
from jpkikit.vocab.scp03.levels import (
    I_PSEUDO_RANDOM,
    VALID_LEVELS,
    Mode,
    SecurityLevel,
    i_allows,
    mode_from_i,
)
from jpkikit.vocab.scp03.session import Scp03Session


class ChannelState(Enum):
    IDLE = "idle"  # no session
    PENDING = "pending"  # INITIALIZE UPDATE answered, EXTERNAL AUTHENTICATE expected
    OPEN = "open"  # authenticated
    ABORTED = "aborted"  # a security error happened; refused until terminated (§5.6)


def _sw(sw: int) -> ResponseApdu:
    return ResponseApdu(b"", int(sw))


class CardSecureChannel:
    def __init__(self, sd_aid: bytes) -> None:
        self.sd_aid = bytes(sd_aid)
        self.state = ChannelState.IDLE
        self.session: Scp03Session | None = None
        self.kvn: int | None = None
        self._pending: tuple[SessionKeys, bytes, bytes, int] | None = None

    def __repr__(self) -> str:
        return f"CardSecureChannel({self.state.value}, level={self.current_level:02X})"

    @property
    def current_level(self) -> int:
        """GPCS Table 10-1 coding: AUTHENTICATED (80) plus the session's protection bits while open."""
        if self.state is ChannelState.OPEN and self.session is not None:
            return int(SecurityLevel.AUTHENTICATED) | int(self.session.level)
        return 0

    @property
    def authenticated(self) -> bool:
        return self.state is ChannelState.OPEN

    def terminate(self) -> None:
        """§5.6: a new INITIALIZE UPDATE, SELECT, channel close or reset ends the session."""
        self.state = ChannelState.IDLE
        self.session = None
        self.kvn = None
        self._pending = None

    def initialize_update(
        self,
        apdu: CommandApdu,
        keys: StaticKeys,
        i: int,
        sequence_counter: int,
        diversification: bytes = b"\x00" * DIVERSIFICATION_LENGTH,
        card_challenge: bytes | None = None,
    ) -> ResponseApdu:
        """Answer INITIALIZE UPDATE for key set ``keys``; the caller has already incremented the counter."""
        self.terminate()
        mode = mode_from_i(i)
        if len(apdu.data) != int(mode):
            return _sw(SW.WRONG_LENGTH)
        host_challenge = apdu.data
        if i & I_PSEUDO_RANDOM:
            card_challenge = pseudo_random_challenge(keys.enc, sequence_counter, self.sd_aid, mode)
        elif card_challenge is None:
            card_challenge = os.urandom(int(mode))
        session_keys = SessionKeys.derive(keys, host_challenge, card_challenge)
        response = InitializeUpdateResponse(
            bytes(diversification),
            keys.kvn,
            SCP03,
            i,
            card_challenge,
            card_cryptogram(session_keys, host_challenge, card_challenge, mode),
            sequence_counter if i & I_PSEUDO_RANDOM else None,
        )
        self._pending = (session_keys, host_challenge, card_challenge, i)
        self.kvn = keys.kvn
        self.state = ChannelState.PENDING
        return ResponseApdu(response.to_bytes(), SW.OK)

    def external_authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        """One attempt per INITIALIZE UPDATE: whatever the outcome, the handshake is used up."""
        if self.state is not ChannelState.PENDING or self._pending is None:
            self.terminate()
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        keys, host_challenge, card_challenge, i = self._pending
        self._pending = None
        self.state = ChannelState.IDLE
        mode = mode_from_i(i)
        level = apdu.p1
        if level not in VALID_LEVELS or apdu.p2 != 0x00 or not i_allows(i, level):
            return _sw(SW.INCORRECT_P1P2)  # Amd D Table 7-3 gives no SW; 6A86 as JCardEngine answers
        if len(apdu.data) != 2 * int(mode):
            return _sw(SW.WRONG_LENGTH)
        session = Scp03Session(keys, Mode(mode), level)
        try:
            received = session.verify_external_authenticate(apdu)
        except SecureChannelError:
            return _sw(SW.SECURITY_STATUS_NOT_SATISFIED)
        if not hmac.compare_digest(received, host_cryptogram(keys, host_challenge, card_challenge, mode)):
            return _sw(SW.VERIFICATION_FAILED)  # 6300, GPCS Table E-12
        self.session = session
        self.state = ChannelState.OPEN
        return _sw(SW.OK)

    def unwrap(self, apdu: CommandApdu) -> CommandApdu | ResponseApdu:
        """The plain command, or the error response to send instead (the session is then aborted)."""
        if self.state is ChannelState.ABORTED:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)  # GP API: session aborted until terminated
        if self.state is ChannelState.OPEN and self.session is not None:
            try:
                return self.session.unwrap_command(apdu)
            except SecureChannelError:
                self.state = ChannelState.ABORTED
                return _sw(SW.SECURITY_STATUS_NOT_SATISFIED)  # 6982 on the failing command (§5.6, GP API)
        if self.state is ChannelState.PENDING:
            self.terminate()  # anything but EXTERNAL AUTHENTICATE abandons the handshake
        if cla_secure_messaging(apdu.cla):
            return _sw(SW.SECURITY_STATUS_NOT_SATISFIED)  # secure messaging without a session
        return apdu

    def wrap(self, response: ResponseApdu) -> ResponseApdu:
        if self.state is ChannelState.OPEN and self.session is not None:
            return self.session.wrap_response(response)
        return response
