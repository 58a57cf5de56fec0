"""The kit's own error types.

Every error a user can cause (bad APDU bytes, a bad profile, an unknown reader, a device that stops
answering) is one of these, with a message that names what is wrong. The CLI prints the message and
exits non-zero; it never shows a traceback for them.
"""

from __future__ import annotations


class KitError(Exception):
    """Base of every error the kit raises on purpose."""


class ApduError(KitError):
    """Malformed command or response APDU bytes."""


class TlvError(KitError):
    """Malformed BER-TLV."""


class TransportError(KitError):
    """The link to the implementation failed."""


class ReaderNotFound(TransportError):
    """No reader matches the requested name, substring or index."""


class CardAbsent(TransportError):
    """No card in the reader, or the card was removed."""


class DeviceTimeout(TransportError):
    """The implementation did not answer within the configured time."""


class DeviceUnreachable(TransportError):
    """The reader subsystem or the remote endpoint cannot be reached at all."""


class ProfileError(KitError):
    """A profile file is invalid. The message names the file, the field and the problem."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file, self.field, self.problem = file, field, problem
        super().__init__(f"{file}: {field}: {problem}")


class CatalogueError(KitError):
    """The requirement catalogue is invalid, or a test names an unknown requirement."""


class StateError(KitError):
    """An emulator state file cannot be read or written."""
