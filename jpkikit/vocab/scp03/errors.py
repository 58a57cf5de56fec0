"""Errors of the SCP03 layer. Messages never contain key material or session keys."""

from __future__ import annotations

from jpkikit.errors import KitError, MalformedAnswer, NonConformance


class Scp03Error(KitError):
    """Malformed SCP03 data from a device or a caller (wrong lengths, bad encodings, bad parameters)."""


class Scp03AnswerError(Scp03Error, MalformedAnswer):
    """The card's SCP03 data does not have the structure or the values Amendment D defines (a response of
    the wrong length, another key version than the one asked for, another mode)."""


class AuthenticationError(Scp03Error, NonConformance):
    """Mutual authentication failed: the card cryptogram did not verify, or the card refused ours.

    ``sw`` is the status word the card answered with, when the failure came from the card.
    """

    def __init__(self, message: str, sw: int | None = None) -> None:
        super().__init__(message)
        self.sw = sw


class SecureChannelError(Scp03Error, NonConformance):
    """The established channel failed (bad R-MAC, bad response padding, use after abort). The session is
    closed when this is raised (Amd D §5.6: any security error ends the session)."""
