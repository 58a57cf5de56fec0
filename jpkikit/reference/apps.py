"""App identities: an Android app is known to the ACE by the hash of its signing certificate (SEAC
DeviceAppID-REF-DO; docs/spec/globalplatform.md, "Access rule data objects" and "Rule resolution on the
device"). The reference apps below have made-up certificates; only their hashes matter, and the bundled
emulator's ARA-M rules name them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class AppIdentity:
    """The caller of an OMAPI function: a name for reports, the signing-certificate hashes (SHA-1 20 bytes
    and/or SHA-256 32 bytes, one per signing certificate), the Android package name (PKG-REF-DO and carrier
    privileges match it) and whether the app holds SECURE_ELEMENT_PRIVILEGED_OPERATION."""

    name: str
    hashes: tuple[bytes, ...]
    package: str | None = None
    privileged: bool = False

    def __post_init__(self) -> None:
        if not self.hashes or any(len(h) not in (20, 32) for h in self.hashes):
            raise ValueError("an app identity needs at least one 20-byte or 32-byte certificate hash")

    @classmethod
    def from_certificate(cls, name: str, der: bytes, package: str | None = None) -> AppIdentity:
        return cls(name, (hashlib.sha1(der).digest(), hashlib.sha256(der).digest()), package)

    def cert_hashes(self) -> tuple[bytes, ...]:
        """The hashes in the order Android's ACE tries them: SHA-1 before SHA-256 (AOSP
        AccessControlEnforcer.getAppCertHashes computes both for each signing certificate)."""
        return tuple(sorted(self.hashes, key=len))


def _cert(name: str) -> bytes:
    return f"jpkikit reference app signing certificate: {name}".encode()


#: The JPKI app (full access to the JPKI applet), a reader app (APDU filters: read-only) and an app that no
#: rule names. Only the hashes are used; the "certificates" are labels.
JPKI_APP = AppIdentity.from_certificate("jpki-app", _cert("jpki-app"), "jp.jpkikit.app.jpki")
READER_APP = AppIdentity.from_certificate("reader-app", _cert("reader-app"), "jp.jpkikit.app.reader")
OTHER_APP = AppIdentity.from_certificate("other-app", _cert("other-app"), "jp.jpkikit.app.other")
REFERENCE_APPS = {a.name: a for a in (JPKI_APP, READER_APP, OTHER_APP)}
