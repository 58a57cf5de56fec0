"""The back end's refusals: one exception type with a stable machine-readable reason."""

from __future__ import annotations

from jpkikit.errors import KitError

#: Reasons a BackendError carries (the TSM maps them to its HTTP answers; tests assert on them).
REASONS = (
    "unknown-card-certificate",  # not issued by the test persona's sign CA
    "expired-card-certificate",
    "revoked-card-certificate",
    "bad-application-signature",
    "commitment-mismatch",  # H[R] != S (seed 004 step ⑲)
    "no-commitment",
    "double-issuance",  # a valid or suspended phone certificate of that kind exists (seed 004 p.4)
    "se-not-bound",  # PIN initialisation for an SE that is not the card's (seed 004 p.18)
    "unknown-certificate",
    "bad-state",  # e.g. releasing a certificate that is not suspended
    "bad-public-key",
)


class BackendError(KitError):
    def __init__(self, reason: str, message: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {message}")
        self.reason = reason
