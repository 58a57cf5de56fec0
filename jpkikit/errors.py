"""The kit's own error types, and what each says about the implementation under test.

Every error a user can cause (bad APDU bytes, a bad profile, an unknown reader, a device that stops
answering) is one of these, with a message that names what is wrong. The CLI prints the message and
exits non-zero; it never shows a traceback for them.

The verdict of a test that ends with one of them follows its family (jpkikit.harness.verdict):

* :class:`NonConformance` — the implementation answered in a way its specification forbids (a card
  cryptogram or R-MAC that does not verify, an answer that does not parse, a key version other than the
  one asked for): **fail**, like a failed assertion;
* :class:`TransportError` — the link failed (no answer in time, the card removed, the reader gone) and
  :class:`Inconclusive` — a precondition outside the requirement could not be established:
  **inconclusive**, with the reason;
* anything else — a defect of the kit itself: **kit error**.
"""

from __future__ import annotations


class KitError(Exception):
    """Base of every error the kit raises on purpose."""


class NonConformance(KitError):
    """The implementation contradicts its specification in a way a test found other than by assertion."""


class MalformedAnswer(NonConformance):
    """Bytes the implementation sent do not have the structure its specification defines."""


class Inconclusive(KitError):
    """The test could not decide: a precondition outside the requirement could not be established."""


class ApduError(KitError):
    """Malformed command or response APDU bytes."""


class MalformedResponse(ApduError, MalformedAnswer):
    """A response APDU from the implementation that is not data || SW1 SW2."""


class TlvError(KitError):
    """Malformed BER-TLV."""


class TlvDecodeError(TlvError, MalformedAnswer):
    """BER-TLV bytes that do not decode (the kit decodes only what implementations send)."""


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


class ProfileError(Inconclusive):
    """A profile file is invalid. The message names the file, the field and the problem."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file, self.field, self.problem = file, field, problem
        super().__init__(f"{file}: {field}: {problem}")


class CatalogueError(KitError):
    """The requirement catalogue is invalid, or a test names an unknown requirement."""


class StateError(KitError):
    """An emulator state file cannot be read or written."""
