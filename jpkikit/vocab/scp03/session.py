"""An established SCP03 secure channel: the state both sides keep after EXTERNAL AUTHENTICATE and the
operations on it. The host calls ``wrap_command``/``unwrap_response``; the card calls
``unwrap_command``/``wrap_response``. Both use the same MAC, ICV and padding code, so the two sides cannot
drift apart.

Clauses (Amd D v1.1.1): §6.2.3 MAC chaining, §6.2.4 C-MAC, §6.2.5 R-MAC, §6.2.6 C-DECRYPTION with the
encryption counter, §6.2.7 R-ENCRYPTION, §5.6 abort on any security error.
"""

from __future__ import annotations

import hmac

from jpkikit.vocab.gp.constants import INS_EXTERNAL_AUTHENTICATE
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.scp03.crypto import BLOCK, cbc_decrypt, cbc_encrypt, cmac, ecb_block, pad80, unpad80
from jpkikit.vocab.scp03.errors import Scp03Error, SecureChannelError
from jpkikit.vocab.scp03.keys import SessionKeys
from jpkikit.vocab.scp03.levels import Mode, SecurityLevel, check_level


def is_error_sw(sw: int) -> bool:
    """§6.2.5: responses other than 9000, 62xx, 63xx carry no R-MAC and no encryption."""
    return not (sw == 0x9000 or sw >> 8 in (0x62, 0x63))


def mac_cla(cla: int) -> int:
    """The CLA the C-MAC covers (§6.2.4): SM indication set, logical channel number zeroed.

    For further interindustry classes (channels 4-19) the channel bits are zeroed and the class is read as
    first interindustry with b3 set (84/04); docs/spec/globalplatform.md#open-questions leaves this reading
    open.
    """
    return (cla & 0x80) | 0x04 | (0 if cla & 0x40 else cla & 0x10)


def wire_cla(cla: int) -> int:
    """The CLA sent on the wire: SM indication added, the channel number kept (GPCS Tables 11-11/11-12)."""
    if cla & 0x40:
        return cla | 0x20
    return (cla & ~0x0C & 0xFF) | 0x04


def plain_cla(cla: int) -> int:
    """Undo :func:`wire_cla`."""
    if cla & 0x40:
        return cla & ~0x20 & 0xFF
    return cla & ~0x0C & 0xFF


def lc_field(length: int, extended: bool) -> bytes:
    """Lc as it enters the MAC: 1 byte, or 00 Lh Ll for extended length (as GPCS §11.1.5 allows)."""
    return b"\x00" + length.to_bytes(2, "big") if extended else bytes((length,))


class Scp03Session:
    """One secure channel session. ``chain`` is the MAC chaining value, ``counter`` the encryption counter.

    The object holds session keys; its repr shows only mode, level and counter.
    """

    def __init__(self, keys: SessionKeys, mode: Mode, level: int, chain: bytes = b"\x00" * BLOCK) -> None:
        self.keys = keys
        self.mode = Mode(mode)
        self.level = check_level(level)
        self.chain = bytes(chain)
        self.counter = 0  # §6.2.6: 1 for the first command after EXTERNAL AUTHENTICATE
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"Scp03Session({self.mode.name}, level={self.level:02X}, counter={self.counter}, {state})"

    @property
    def mac_length(self) -> int:
        return int(self.mode)

    # -- shared primitives ------------------------------------------------------------------------------

    def command_mac(self, cla: int, ins: int, p1: int, p2: int, lc: bytes, data: bytes) -> bytes:
        """Full 16-byte C-MAC over chaining value || header || Lc || data (§6.2.4); Le is never included."""
        return cmac(self.keys.s_mac, self.chain + bytes((mac_cla(cla), ins, p1, p2)) + lc + data)

    def response_mac(self, data: bytes, sw: int) -> bytes:
        """R-MAC over the chaining value (the last C-MAC) || response data || SW (§6.2.5)."""
        return cmac(self.keys.s_rmac, self.chain + data + sw.to_bytes(2, "big"))[: self.mac_length]

    def command_icv(self) -> bytes:
        """§6.2.6: ICV = AES(S-ENC, counter as a 16-byte block)."""
        return ecb_block(self.keys.s_enc, self.counter.to_bytes(BLOCK, "big"))

    def response_icv(self) -> bytes:
        """§6.2.7: ICV = AES(S-ENC, 80 || counter in 15 bytes), same counter as the command."""
        return ecb_block(self.keys.s_enc, b"\x80" + self.counter.to_bytes(BLOCK - 1, "big"))

    def _mac_and_build(self, plain: CommandApdu, data: bytes) -> CommandApdu:
        n = len(data) + self.mac_length
        extended = plain.extended is True or n > 255 or (plain.ne or 0) > 256
        full = self.command_mac(plain.cla, plain.ins, plain.p1, plain.p2, lc_field(n, extended), data)
        self.chain = full
        return CommandApdu(
            wire_cla(plain.cla),
            plain.ins,
            plain.p1,
            plain.p2,
            data + full[: self.mac_length],
            plain.ne,
            extended=True if extended else None,
        )

    def _verify_mac(self, apdu: CommandApdu) -> bytes:
        """Check the C-MAC of a received command; returns the data without the MAC, advances the chain."""
        if not cla_secure_messaging(apdu.cla):
            raise SecureChannelError(
                f"CLA {apdu.cla:02X} shows no secure messaging, the session requires C-MAC"
            )
        if len(apdu.data) < self.mac_length:
            raise SecureChannelError(
                f"command data is {len(apdu.data)} bytes, shorter than the {self.mac_length}-byte C-MAC"
            )
        body, mac = apdu.data[: -self.mac_length], apdu.data[-self.mac_length :]
        lc = lc_field(len(apdu.data), apdu.is_extended)
        full = self.command_mac(apdu.cla, apdu.ins, apdu.p1, apdu.p2, lc, body)
        if not hmac.compare_digest(full[: self.mac_length], mac):
            raise SecureChannelError("C-MAC verification failed")
        self.chain = full
        return body

    # -- EXTERNAL AUTHENTICATE (always C-MAC, never encrypted, not counted: §6.2.6, Amd D §7.1.2) -------

    def external_authenticate_command(self, host_cryptogram: bytes, cla: int = 0x80) -> CommandApdu:
        plain = CommandApdu(cla, INS_EXTERNAL_AUTHENTICATE, int(self.level), 0x00, bytes(host_cryptogram))
        return self._mac_and_build(plain, plain.data)

    def verify_external_authenticate(self, apdu: CommandApdu) -> bytes:
        """Card side: verify the C-MAC of EXTERNAL AUTHENTICATE; returns the host cryptogram."""
        return self._verify_mac(apdu)

    # -- host side ---------------------------------------------------------------------------------------

    def wrap_command(self, plain: CommandApdu) -> CommandApdu:
        self._check_open()
        if plain.ins == 0xC0 and not plain.cla & 0x80:
            raise Scp03Error("GET RESPONSE is not wrapped (GPCS §11.1.5.2)")
        self.counter += 1  # §6.2.6: every command counts, with or without data
        data = plain.data
        if self.level & SecurityLevel.C_DECRYPTION and data:
            data = cbc_encrypt(self.keys.s_enc, self.command_icv(), pad80(data))
        if not self.level & SecurityLevel.C_MAC:
            return plain
        return self._mac_and_build(plain, data)

    def unwrap_response(self, response: ResponseApdu) -> ResponseApdu:
        self._check_open()
        if is_error_sw(response.sw):
            return response
        data = response.data
        try:
            if self.level & SecurityLevel.R_MAC:
                if len(data) < self.mac_length:
                    raise SecureChannelError(
                        f"response data is {len(data)} bytes; the session requires "
                        f"a {self.mac_length}-byte R-MAC"
                    )
                data, mac = data[: -self.mac_length], data[-self.mac_length :]
                if not hmac.compare_digest(self.response_mac(data, response.sw), mac):
                    raise SecureChannelError("R-MAC verification failed")
            if self.level & SecurityLevel.R_ENCRYPTION and data:
                if len(data) % BLOCK:
                    raise SecureChannelError(
                        f"encrypted response data is {len(data)} bytes, not a multiple of 16"
                    )
                data = unpad80(cbc_decrypt(self.keys.s_enc, self.response_icv(), data))
        except Scp03Error as exc:
            self.closed = True
            raise SecureChannelError(f"{exc}; secure channel session closed") from None
        return ResponseApdu(data, response.sw)

    # -- card side ---------------------------------------------------------------------------------------

    def unwrap_command(self, apdu: CommandApdu) -> CommandApdu:
        """Verify and decrypt a received command. Any failure raises SecureChannelError and closes the
        session (the caller answers 6982 and treats the session as aborted, §5.6)."""
        self._check_open()
        try:
            if not self.level & SecurityLevel.C_MAC:
                if cla_secure_messaging(apdu.cla):
                    raise SecureChannelError("secure messaging CLA in a session without C-MAC")
                self.counter += 1
                return apdu
            body = self._verify_mac(apdu)
            self.counter += 1
            if self.level & SecurityLevel.C_DECRYPTION and body:
                if len(body) % BLOCK:
                    raise SecureChannelError(
                        f"encrypted command data is {len(body)} bytes, not a multiple of 16"
                    )
                body = unpad80(cbc_decrypt(self.keys.s_enc, self.command_icv(), body))
        except Scp03Error as exc:
            self.closed = True
            raise SecureChannelError(str(exc)) from None
        return CommandApdu(plain_cla(apdu.cla), apdu.ins, apdu.p1, apdu.p2, body, apdu.ne)

    def wrap_response(self, response: ResponseApdu) -> ResponseApdu:
        self._check_open()
        if is_error_sw(response.sw):
            return ResponseApdu(b"", response.sw)
        data = response.data
        if self.level & SecurityLevel.R_ENCRYPTION and data:
            data = cbc_encrypt(self.keys.s_enc, self.response_icv(), pad80(data))
        if self.level & SecurityLevel.R_MAC:
            data += self.response_mac(data, response.sw)
        return ResponseApdu(data, response.sw)

    def _check_open(self) -> None:
        if self.closed:
            raise SecureChannelError(
                "the secure channel session is closed; open a new one (INITIALIZE UPDATE)"
            )
