"""SCP03 (GlobalPlatform Card Spec Amendment D), host side and card side from one set of primitives.

Modules, smallest first: ``crypto`` (AES-CBC/ECB, CMAC, padding, KCV), ``kdf`` (SP 800-108 counter-mode
KDF as Amd D §4.1.5 uses it), ``keys`` (static and session key sets, never shown in reprs), ``levels``
(security levels, S8/S16, the i parameter), ``session`` (an established channel: C-MAC, C-DECRYPTION,
R-MAC, R-ENC, chaining and the encryption counter), ``handshake`` (INITIALIZE UPDATE / EXTERNAL
AUTHENTICATE encodings and cryptograms), ``host`` (:class:`Scp03Layer`, the transport layer the kit drives an
SE with), ``card`` (the card-side session object of the emulator's security domains), ``putkey`` (PUT KEY for
AES keys).
"""

from jpkikit.vocab.scp03.errors import AuthenticationError, Scp03Error, SecureChannelError
from jpkikit.vocab.scp03.keys import SessionKeys, StaticKeys
from jpkikit.vocab.scp03.levels import Mode, SecurityLevel

__all__ = [
    "AuthenticationError",
    "Mode",
    "Scp03Error",
    "SecureChannelError",
    "SecurityLevel",
    "SessionKeys",
    "StaticKeys",
]
