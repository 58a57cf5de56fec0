"""The back end's refusals: one exception type with a stable machine-readable reason."""

from __future__ import annotations

from jpkikit.errors import KitError

#: Reasons a BackendError carries (the TSM maps them to its HTTP answers; tests assert on them).
REASONS = (
    "unknown-card-certificate",  # not issued by a trusted card CA (seed 004 p.15 step ③)
    "expired-card-certificate",
    "revoked-card-certificate",
    "bad-application-signature",  # steps ④⑤
    "bad-application",  # the signed application does not parse
    "wrong-operation",  # the signed application is for another operation
    "stale-application",  # signed too long ago (or in the future)
    "replayed-application",  # the same signed application a second time
    "commitment-mismatch",  # H[R] != S (seed 004 step ⑲)
    "no-commitment",
    "double-issuance",  # a valid or suspended phone certificate of that kind exists (seed 004 p.4)
    "se-not-bound",  # PIN initialisation for an SE that is not the card's (seed 004 p.18)
    "phone-certificate-not-valid",  # PIN initialisation while the phone certificate is not valid (p.18 ⑥)
    "unknown-certificate",
    "not-your-certificate",  # a card asks to change a phone certificate of another card
    "bad-state",  # e.g. releasing a certificate that is not suspended
    "bad-public-key",
    "bad-access-code",  # the SIM design's access code or password does not match (seed 000 §4(1) ⑪)
    "used-access-code",
)


class BackendError(KitError):
    def __init__(self, reason: str, message: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {message}")
        self.reason = reason
