"""An established SCP03 secure channel: the state both sides keep after EXTERNAL AUTHENTICATE and the
operations on it. The host calls ``wrap_command``/``unwrap_response``; the card calls
``unwrap_command``/``wrap_response``. Both use the same MAC, ICV and padding code, so the two sides cannot
drift apart.

Clauses (Amd D v1.1.1): §6.2.3 MAC chaining, §6.2.4 C-MAC, §6.2.5 R-MAC, §6.2.6 C-DECRYPTION with the
encryption counter, §6.2.7 R-ENCRYPTION, §5.6 abort on any security error.
"""

from __future__ import annotations

import hmac

from jpkikit.errors import MalformedResponse
from jpkikit.vocab.gp.constants import INS_EXTERNAL_AUTHENTICATE
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.scp03.crypto import BLOCK, KeyedAes, pad80, unpad80
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

    The object holds session keys; its repr shows only mode, level and counter. Its AES contexts are
    keyed once per session key (:class:`KeyedAes`), when ``keys`` is set, not once per command.
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
    def keys(self) -> SessionKeys:
        return self._keys

    @keys.setter
    def keys(self, keys: SessionKeys) -> None:
        self._keys = keys
        self._enc = KeyedAes(keys.s_enc)
        self._mac = KeyedAes(keys.s_mac)
        self._rmac = KeyedAes(keys.s_rmac)

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self._mode = Mode(mode)
        self._mac_length = int(self._mode)

    @property
    def level(self) -> SecurityLevel:
        return self._level

    @level.setter
    def level(self, level: int) -> None:
        # the level's bits as plain booleans: IntFlag arithmetic costs more than the AES work per command
        self._level = SecurityLevel(level)
        self._c_mac = bool(level & SecurityLevel.C_MAC)
        self._c_dec = bool(level & SecurityLevel.C_DECRYPTION)
        self._r_mac = bool(level & SecurityLevel.R_MAC)
        self._r_enc = bool(level & SecurityLevel.R_ENCRYPTION)

    @property
    def mac_length(self) -> int:
        return self._mac_length

    # -- shared primitives ------------------------------------------------------------------------------

    def command_mac(self, cla: int, ins: int, p1: int, p2: int, lc: bytes, data: bytes) -> bytes:
        """Full 16-byte C-MAC over chaining value || header || Lc || data (§6.2.4); Le is never included."""
        return self._mac.cmac(self.chain + bytes((mac_cla(cla), ins, p1, p2)) + lc + data)

    def response_mac(self, data: bytes, sw: int) -> bytes:
        """R-MAC over the chaining value (the last C-MAC) || response data || SW (§6.2.5)."""
        return self._rmac.cmac(self.chain + data + sw.to_bytes(2, "big"))[: self.mac_length]

    def command_icv(self) -> bytes:
        """§6.2.6: ICV = AES(S-ENC, counter as a 16-byte block)."""
        return self._enc.ecb_block(self.counter.to_bytes(BLOCK, "big"))

    def response_icv(self) -> bytes:
        """§6.2.7: ICV = AES(S-ENC, 80 || counter in 15 bytes), same counter as the command."""
        return self._enc.ecb_block(b"\x80" + self.counter.to_bytes(BLOCK - 1, "big"))

    def _mac_field(self, plain: CommandApdu, data: bytes) -> tuple[bytes, bool]:
        """C-MAC ``data`` (the field as sent, maybe encrypted) under ``plain``'s header: the data field with
        the MAC appended, and whether the command goes in extended length. Advances the chain."""
        n = len(data) + self._mac_length
        extended = plain.extended is True or n > 255 or (plain.ne or 0) > 256
        full = self.command_mac(plain.cla, plain.ins, plain.p1, plain.p2, lc_field(n, extended), data)
        self.chain = full
        return data + full[: self._mac_length], extended

    def _mac_and_build(self, plain: CommandApdu, data: bytes) -> CommandApdu:
        field, extended = self._mac_field(plain, data)
        return CommandApdu(
            wire_cla(plain.cla),
            plain.ins,
            plain.p1,
            plain.p2,
            field,
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

    def _encrypt_command(self, plain: CommandApdu) -> bytes:
        """Count the command and encrypt its data field if the level says so (§6.2.6)."""
        self._check_open()
        if plain.ins == 0xC0 and not plain.cla & 0x80:
            raise Scp03Error("GET RESPONSE is not wrapped (GPCS §11.1.5.2)")
        self.counter += 1  # §6.2.6: every command counts, with or without data
        data = plain.data
        if self._c_dec and data:
            data = self._enc.cbc_encrypt_icv(self.counter.to_bytes(BLOCK, "big"), pad80(data))  # §6.2.6
        return data

    def wrap_command(self, plain: CommandApdu) -> CommandApdu:
        data = self._encrypt_command(plain)
        if not self._c_mac:
            return plain
        return self._mac_and_build(plain, data)

    def wrap_command_bytes(self, plain: CommandApdu) -> bytes:
        """:meth:`wrap_command` straight to the wire bytes (the host layer's path: no second APDU object)."""
        data = self._encrypt_command(plain)
        if not self._c_mac:
            return plain.to_bytes()
        n = len(data) + self._mac_length
        if plain.extended is True or n > 255 or (plain.ne or 0) > 256:
            field, _ = self._mac_field(plain, data)
            return self._mac_and_build_encoded(plain, field)
        # short case 3 or 4 (ISO/IEC 7816-4 §5.1; the field is never empty, it holds the MAC): the C-MAC of
        # _mac_field with its one-byte Lc, inlined on the host's hot path
        cla, ins, p1, p2 = plain.cla, plain.ins, plain.p1, plain.p2
        full = self._mac.cmac(self.chain + bytes((mac_cla(cla), ins, p1, p2, n)) + data)
        self.chain = full
        le = b"" if plain.ne is None else bytes((plain.ne & 0xFF,))
        return bytes((wire_cla(cla), ins, p1, p2, n)) + data + full[: self._mac_length] + le

    @staticmethod
    def _mac_and_build_encoded(plain: CommandApdu, field: bytes) -> bytes:
        cla = wire_cla(plain.cla)
        return CommandApdu(cla, plain.ins, plain.p1, plain.p2, field, plain.ne, extended=True).to_bytes()

    def _unwrap(self, data: bytes, sw: int) -> bytes:
        """Check the R-MAC and decrypt (§6.2.5, §6.2.7); the caller has let error SWs through."""
        try:
            if self._r_mac:
                n = self._mac_length
                if len(data) < n:
                    raise SecureChannelError(
                        f"response data is {len(data)} bytes; the session requires a {n}-byte R-MAC"
                    )
                data, mac = data[:-n], data[-n:]
                if not hmac.compare_digest(self.response_mac(data, sw), mac):
                    raise SecureChannelError("R-MAC verification failed")
            if self._r_enc and data:
                if len(data) % BLOCK:
                    raise SecureChannelError(
                        f"encrypted response data is {len(data)} bytes, not a multiple of 16"
                    )
                data = unpad80(self._enc.cbc_decrypt(self.response_icv(), data))
        except Scp03Error as exc:
            self.closed = True
            raise SecureChannelError(f"{exc}; secure channel session closed") from None
        return data

    def unwrap_response(self, response: ResponseApdu) -> ResponseApdu:
        self._check_open()
        if is_error_sw(response.sw):
            return response
        return ResponseApdu(self._unwrap(response.data, response.sw), response.sw)

    def unwrap_response_bytes(self, raw: bytes) -> bytes:
        """:meth:`unwrap_response` on the response bytes (data || SW1 SW2), giving the plain bytes."""
        self._check_open()
        if len(raw) < 2:
            raise MalformedResponse(f"response APDU is {len(raw)} bytes; it needs at least SW1 SW2")
        sw = int.from_bytes(raw[-2:], "big")
        if not (sw == 0x9000 or raw[-2] in (0x62, 0x63)):  # is_error_sw, inlined on the hot path
            return bytes(raw)
        return self._unwrap(raw[:-2], sw) + raw[-2:]

    # -- card side ---------------------------------------------------------------------------------------

    def unwrap_command(self, apdu: CommandApdu) -> CommandApdu:
        """Verify and decrypt a received command. Any failure raises SecureChannelError and closes the
        session (the caller answers 6982 and treats the session as aborted, §5.6)."""
        self._check_open()
        try:
            if not self._c_mac:
                if cla_secure_messaging(apdu.cla):
                    raise SecureChannelError("secure messaging CLA in a session without C-MAC")
                self.counter += 1
                return apdu
            body = self._verify_mac(apdu)
            self.counter += 1
            if self._c_dec and body:
                if len(body) % BLOCK:
                    raise SecureChannelError(
                        f"encrypted command data is {len(body)} bytes, not a multiple of 16"
                    )
                body = unpad80(self._enc.cbc_decrypt(self.command_icv(), body))
        except Scp03Error as exc:
            self.closed = True
            raise SecureChannelError(str(exc)) from None
        return CommandApdu(plain_cla(apdu.cla), apdu.ins, apdu.p1, apdu.p2, body, apdu.ne)

    def wrap_response(self, response: ResponseApdu) -> ResponseApdu:
        self._check_open()
        if is_error_sw(response.sw):
            return ResponseApdu(b"", response.sw)
        data = response.data
        if self._r_enc and data:
            data = self._enc.cbc_encrypt_icv(b"\x80" + self.counter.to_bytes(BLOCK - 1, "big"), pad80(data))
        if self._r_mac:
            data += self.response_mac(data, response.sw)
        return ResponseApdu(data, response.sw)

    def _check_open(self) -> None:
        if self.closed:
            raise SecureChannelError(
                "the secure channel session is closed; open a new one (INITIALIZE UPDATE)"
            )
