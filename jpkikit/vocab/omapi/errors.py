"""The exceptions the Open Mobile API throws, as kinds the kit can name (the ``android.se.omapi`` javadoc of
SEService, Reader, Session and Channel; GlobalPlatform Open Mobile API v3.3 §6). Each carries the Java class
it stands for; the handset agent protocol maps each kind to an error code (docs/handset-agent-protocol.md
§4)."""

from __future__ import annotations

from jpkikit.errors import NonConformance


class OmapiError(NonConformance):
    """Base of the errors an OMAPI call raises (Android exception named in each subclass)."""

    java = "java.lang.Exception"


class SecurityError(OmapiError):
    java = "java.lang.SecurityException"


class NoSuchElementError(OmapiError):
    java = "java.util.NoSuchElementException"


class IllegalArgumentError(OmapiError):
    java = "java.lang.IllegalArgumentException"


class IllegalStateError(OmapiError):
    java = "java.lang.IllegalStateException"


class OmapiIOError(OmapiError):
    java = "java.io.IOException"


class UnsupportedOperationError(OmapiError):
    """Session.open*Channel with a P2 the device does not support, or a SELECT the applet refuses for its
    P2 (SE HAL UNSUPPORTED_OPERATION); Channel.selectNext when the SE cannot select the next occurrence."""

    java = "java.lang.UnsupportedOperationException"


class NullPointerError(OmapiError):
    """A required argument was null (Channel.transmit(null), a null listener)."""

    java = "java.lang.NullPointerException"


#: Every exception kind an OMAPI call may throw, most specific first.
ALL: tuple[type[OmapiError], ...] = (
    SecurityError,
    NoSuchElementError,
    IllegalArgumentError,
    IllegalStateError,
    OmapiIOError,
    UnsupportedOperationError,
    NullPointerError,
)
