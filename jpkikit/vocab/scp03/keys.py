"""SCP03 key sets. Reprs show the key version number, the key length and the KCVs, never key values."""

from __future__ import annotations

from dataclasses import dataclass

from jpkikit.vocab.scp03.crypto import check_key, kcv
from jpkikit.vocab.scp03.errors import Scp03Error
from jpkikit.vocab.scp03.kdf import DerivationConstant, derive


@dataclass(frozen=True, repr=False)
class StaticKeys:
    """Key-ENC, Key-MAC and Key-DEK of one key set (Amd D §6.1: all three the same length) and its KVN."""

    enc: bytes
    mac: bytes
    dek: bytes
    kvn: int = 0x30

    def __post_init__(self) -> None:
        for name in ("enc", "mac", "dek"):
            check_key(getattr(self, name), f"Key-{name.upper()}")
            object.__setattr__(self, name, bytes(getattr(self, name)))
        if not len(self.enc) == len(self.mac) == len(self.dek):
            raise Scp03Error("Key-ENC, Key-MAC and Key-DEK must have the same length (Amd D §6.1)")
        if not 0 <= self.kvn <= 0xFF:
            raise Scp03Error(f"key version number must be one byte, got {self.kvn!r}")

    @classmethod
    def single(cls, key: bytes, kvn: int = 0x30) -> StaticKeys:
        """A key set whose three keys are equal (the usual test key set, e.g. 40..4F)."""
        return cls(key, key, key, kvn)

    @property
    def length(self) -> int:
        return len(self.enc)

    def kcvs(self) -> tuple[bytes, bytes, bytes]:
        return kcv(self.enc), kcv(self.mac), kcv(self.dek)

    def __repr__(self) -> str:
        shown = "/".join(k.hex().upper() for k in self.kcvs())
        return f"StaticKeys(kvn={self.kvn:02X}, AES-{self.length * 8}, kcv={shown})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class SessionKeys:
    """S-ENC, S-MAC and S-RMAC (Amd D §6.2.1). There is no session DEK in SCP03."""

    s_enc: bytes
    s_mac: bytes
    s_rmac: bytes

    @classmethod
    def derive(cls, static: StaticKeys, host_challenge: bytes, card_challenge: bytes) -> SessionKeys:
        context = bytes(host_challenge) + bytes(card_challenge)
        bits = static.length * 8
        return cls(
            derive(static.enc, DerivationConstant.S_ENC, context, bits),
            derive(static.mac, DerivationConstant.S_MAC, context, bits),
            derive(static.mac, DerivationConstant.S_RMAC, context, bits),  # Table 4-1: from Key-MAC
        )

    def __repr__(self) -> str:
        return f"SessionKeys(AES-{len(self.s_enc) * 8}, <redacted>)"

    __str__ = __repr__
