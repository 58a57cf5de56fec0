"""The one small interface every link to an implementation offers (design.md, transport layer).

Layers stack like a processor chain: formatter -> GET RESPONSE handling -> (SCP03 wrap) -> tracer -> link.
Each layer is a Transport that wraps another.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class Transport(ABC):
    """A link that carries raw APDU bytes to an implementation and returns its raw response bytes."""

    #: Human-readable description of where this transport goes (reader name, "in-process gp-se", ...).
    description: str = "transport"

    @abstractmethod
    def transmit(self, command: bytes) -> bytes:
        """Send one command APDU, return the response APDU (data || SW1 SW2).

        Raises a TransportError subclass when the link fails; never returns garbage silently.
        """

    @abstractmethod
    def reset(self, cold: bool = False) -> bytes:
        """Warm reset (cold=False) or power cycle (cold=True); returns the ATR."""

    @property
    @abstractmethod
    def atr(self) -> bytes:
        """The ATR of the current power-up."""

    @abstractmethod
    def close(self) -> None:
        """Release the link. Safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Layer(Transport):
    """A transport that wraps another one and passes reset/atr/close through."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.description = inner.description

    def transmit(self, command: bytes) -> bytes:
        return self.inner.transmit(command)

    def reset(self, cold: bool = False) -> bytes:
        return self.inner.reset(cold)

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def close(self) -> None:
        self.inner.close()


class Borrowed(Layer):
    """A transport lent to someone else: closing it leaves the lender's link open."""

    def close(self) -> None:
        pass
