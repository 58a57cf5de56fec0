"""The exceptions the Open Mobile API throws, as kinds the kit can name (the ``android.se.omapi``
javadoc of SEService, Reader, Session and Channel; GlobalPlatform Open Mobile API v3.3 §6). Each carries
the Java class it stands for; the handset agent protocol maps each kind to an error code."""

from __future__ import annotations

from jpkikit.errors import NonConformance


class OmapiError(NonConformance):
    """Base of the errors an OMAPI call raises (Android exception named in each subclass)."""

    java = "Exception"


class SecurityError(OmapiError):
    java = "SecurityException"


class NoSuchElementError(OmapiError):
    java = "NoSuchElementException"


class IllegalArgumentError(OmapiError):
    java = "IllegalArgumentException"


class IllegalStateError(OmapiError):
    java = "IllegalStateException"


class OmapiIOError(OmapiError):
    java = "IOException"
