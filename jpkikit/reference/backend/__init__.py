"""A simulated J-LIS back end (docs/spec/system.md: actors, security requirements, the flows of seed 004
pp.15-26): checks card signature certificates and signed applications, issues phone certificates for keys
generated on the SE, links them to the card certificate, binds the card to an SE identification ID, keeps
certificate status and publishes a CRL. State lives in sqlite; every operation is one transaction, so a crash
never leaves half-written state."""

from __future__ import annotations

from jpkikit.reference.backend.errors import BackendError
from jpkikit.reference.backend.service import JlisBackend

__all__ = ["BackendError", "JlisBackend"]
