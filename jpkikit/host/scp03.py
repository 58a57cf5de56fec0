"""The host side: :class:`Scp03Layer`, a transport layer that opens an SCP03 session with a security domain
(INITIALIZE UPDATE, EXTERNAL AUTHENTICATE) and then wraps every command and unwraps every response on its
logical channel (Amd D §7.1.1, §7.1.2, §6.2).

Stack it above the tracer (so the trace shows the wire) and below any formatter. The layer collects
``61xx`` responses itself before unwrapping, since the R-MAC covers the whole response (GPCS §11.1.5.2).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from jpkikit.errors import ApduError
from jpkikit.host.card_session import exchange
from jpkikit.host.link import Layer, Transport
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_with_channel
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.scp03.errors import AuthenticationError, Scp03AnswerError, Scp03Error
from jpkikit.vocab.scp03.handshake import (
    InitializeUpdateResponse,
    card_cryptogram,
    host_cryptogram,
    initialize_update_command,
    pseudo_random_challenge,
)
from jpkikit.vocab.scp03.keys import SessionKeys, StaticKeys
from jpkikit.vocab.scp03.levels import I_PSEUDO_RANDOM, Mode, SecurityLevel, check_level, i_allows
from jpkikit.vocab.scp03.session import Scp03Session

INS_SELECT, INS_MANAGE_CHANNEL, INS_GET_RESPONSE = Ins.SELECT, Ins.MANAGE_CHANNEL, Ins.GET_RESPONSE


@dataclass(frozen=True, repr=False)
class Handshake:
    """The outcome of INITIALIZE UPDATE: what the card sent and the session keys derived from it."""

    host_challenge: bytes
    response: InitializeUpdateResponse
    keys: SessionKeys

    @property
    def mode(self) -> Mode:
        return self.response.mode

    def __repr__(self) -> str:
        r = self.response
        return f"Handshake(kvn={r.kvn:02X}, i={r.i:02X}, {self.mode.name}, counter={r.sequence_counter})"


class Scp03Layer(Layer):
    """SCP03 on one logical channel of ``inner``. Commands on other channels pass through unchanged."""

    def __init__(
        self, inner: Transport, keys: StaticKeys, *, sd_aid: bytes | None = None, channel: int = 0
    ) -> None:
        super().__init__(inner)
        self.keys = keys
        self.sd_aid = bytes(sd_aid) if sd_aid is not None else None
        self.channel = channel
        self.session: Scp03Session | None = None
        self.handshake: Handshake | None = None
        self.description = f"{inner.description} + SCP03"

    def __repr__(self) -> str:
        return f"Scp03Layer({self.keys!r}, channel={self.channel}, session={self.session!r})"

    # -- link helpers ------------------------------------------------------------------------------------

    def _exchange(self, apdu: CommandApdu) -> ResponseApdu:
        """Send one command on the inner transport and gather 61xx continuations (GET RESPONSE); no Le
        re-issue, which would repeat a MAC'd command."""
        return ResponseApdu.parse(exchange(self.inner.transmit, apdu.to_bytes(), fix_le=False))

    # -- opening -----------------------------------------------------------------------------------------

    def initialize_update(
        self, kvn: int | None = None, mode: Mode = Mode.S8, host_challenge: bytes | None = None
    ) -> Handshake:
        """Send INITIALIZE UPDATE and check the card's answer and cryptogram. Ends any current session."""
        self.session = None
        self.handshake = None
        kvn = self.keys.kvn if kvn is None else kvn
        challenge = os.urandom(int(mode)) if host_challenge is None else bytes(host_challenge)
        if len(challenge) != int(mode):
            raise Scp03Error(
                f"host challenge must be {int(mode)} bytes in {mode.name} mode, got {len(challenge)}"
            )
        command = initialize_update_command(challenge, kvn, cla_with_channel(0x80, self.channel))
        response = self._exchange(command)
        if response.sw != 0x9000:
            raise AuthenticationError(f"INITIALIZE UPDATE refused with SW {response.sw:04X}", response.sw)
        parsed = InitializeUpdateResponse.parse(response.data)
        if parsed.mode != mode:
            raise Scp03AnswerError(
                f"card answered in {parsed.mode.name} mode (i={parsed.i:02X}) to a {mode.name} request"
            )
        if kvn and parsed.kvn != kvn:
            raise Scp03AnswerError(f"card answered with key set {parsed.kvn:02X}, {kvn:02X} was requested")
        if self.sd_aid is not None and parsed.i & I_PSEUDO_RANDOM and parsed.sequence_counter is not None:
            expected = pseudo_random_challenge(self.keys.enc, parsed.sequence_counter, self.sd_aid, mode)
            if not hmac.compare_digest(expected, parsed.card_challenge):
                raise AuthenticationError(
                    "card challenge is not the pseudo-random value for this sequence counter and SD AID "
                    "(Amd D §6.2.2.1)"
                )
        keys = SessionKeys.derive(self.keys, challenge, parsed.card_challenge)
        if not hmac.compare_digest(
            card_cryptogram(keys, challenge, parsed.card_challenge, mode), parsed.card_cryptogram
        ):
            raise AuthenticationError(
                "card cryptogram does not verify: wrong key set, or not the expected card"
            )
        self.handshake = Handshake(challenge, parsed, keys)
        return self.handshake

    def external_authenticate(
        self, level: int = SecurityLevel.C_MAC, cryptogram: bytes | None = None
    ) -> Scp03Session:
        """Send EXTERNAL AUTHENTICATE for the pending handshake; ``cryptogram`` overrides the host cryptogram
        (negative tests). On success the layer wraps from now on."""
        hs = self.handshake
        if hs is None:
            raise Scp03Error("EXTERNAL AUTHENTICATE needs a preceding INITIALIZE UPDATE")
        check_level(level)
        if not i_allows(hs.response.i, level):
            raise Scp03Error(f"the card's i={hs.response.i:02X} does not offer security level {level:02X}")
        session = Scp03Session(hs.keys, hs.mode, level)
        hc = host_cryptogram(hs.keys, hs.host_challenge, hs.response.card_challenge, hs.mode)
        command = session.external_authenticate_command(
            hc if cryptogram is None else cryptogram, cla_with_channel(0x80, self.channel)
        )
        self.handshake = None
        response = self._exchange(command)
        if response.sw != 0x9000:
            raise AuthenticationError(f"EXTERNAL AUTHENTICATE refused with SW {response.sw:04X}", response.sw)
        self.session = session
        return session

    def open(
        self,
        level: int = SecurityLevel.C_MAC,
        *,
        kvn: int | None = None,
        mode: Mode = Mode.S8,
        host_challenge: bytes | None = None,
    ) -> Scp03Session:
        """INITIALIZE UPDATE + EXTERNAL AUTHENTICATE."""
        self.initialize_update(kvn, mode, host_challenge)
        return self.external_authenticate(level)

    def end(self) -> None:
        """Forget the session on the host side (the card ends it at the next SELECT, reset or IU)."""
        self.session = None
        self.handshake = None

    # -- wrapped traffic -----------------------------------------------------------------------------------

    def send(self, apdu: CommandApdu) -> ResponseApdu:
        """Send one plain command through the session; returns the plain response."""
        return ResponseApdu.parse(self.transmit(apdu.to_bytes()))

    def transmit(self, command: bytes) -> bytes:
        if self.session is None:
            return self.inner.transmit(command)
        try:
            apdu = CommandApdu.parse(command)
        except ApduError:
            return self.inner.transmit(command)  # malformed on purpose: the caller wants it on the wire
        interindustry = not apdu.cla & 0x80
        if apdu.channel != self.channel or (
            interindustry and apdu.ins in (INS_GET_RESPONSE, INS_MANAGE_CHANNEL)
        ):
            return self.inner.transmit(command)
        if interindustry and apdu.ins == INS_SELECT:
            response = ResponseApdu.parse(self.inner.transmit(command))
            if response.sw == 0x9000 or response.sw1 in (0x61, 0x62, 0x63):
                self.end()  # Amd D §5.6: selecting an application terminates the session on this channel
            return response.to_bytes()
        # bytes in, bytes out: the wire form straight from the session, no APDU objects in between
        wrapped = self.session.wrap_command_bytes(apdu)
        return self.session.unwrap_response_bytes(exchange(self.inner.transmit, wrapped, fix_le=False))

    def reset(self, cold: bool = False) -> bytes:
        self.end()
        return self.inner.reset(cold)
