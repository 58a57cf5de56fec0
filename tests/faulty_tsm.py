"""Deliberately non-conforming TSMs, one fault each, to show that every TSM conformance test
(conformance/tsm) can fail. Each is a ``TsmService`` subclass named by a profile's
``ixit.tsm.reference.factory`` ("tests.faulty_tsm:<name>"); everything else is the reference TSM."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, ClassVar

from jpkikit.reference.backend import JlisBackend
from jpkikit.reference.backend.service import CardApplicant, PhoneCertificate
from jpkikit.reference.persona import load_persona
from jpkikit.reference.tsm.flows import FLOWS, Order, Script, SeTarget
from jpkikit.reference.tsm.server import TsmService
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu


def _swap_backend(service: TsmService, cls: type[JlisBackend]) -> None:
    service.backend.__class__ = cls


class LowLevel(TsmService):
    """Opens SCP03 at C-MAC + C-DECRYPTION + R-MAC (13) whatever the SE requires (TSM-SCP-01)."""

    def __init__(self, backend: JlisBackend, target: SeTarget) -> None:
        super().__init__(backend, dataclasses.replace(target, level=0x13))


def _importing(flow: Any) -> Any:
    def run(order: Order, target: SeTarget, backend: JlisBackend, tsm: Any) -> Script:
        inner = flow(order, target, backend, tsm)
        script = next(inner)
        while True:
            extra = []
            if any(c.ins == 0x16 for c in script):  # before the certificate: "import" a TSM-made key
                pem = load_persona().key_pems["auth"].encode()
                extra = [CommandApdu(0x80, 0x1E, 0x00, 0x01, pem[:200])]
            responses: list[ResponseApdu] = yield extra + script
            try:
                script = inner.send(responses[len(extra) :])
            except StopIteration as stop:
                return stop.value

    return run


class ImportsKey(TsmService):
    """Sends a private key to the SE in a proprietary command (TSM-KEY-01)."""

    flows: ClassVar[dict[str, Any]] = {**FLOWS, "issue": _importing(FLOWS["issue"])}


class _TrustingBackend(JlisBackend):
    def issue(
        self, applicant: CardApplicant, se_id: str, kind: str, public_key: Any, r: bytes
    ) -> PhoneCertificate:
        self.record_commitment(
            applicant.serial, se_id, kind, hashlib.sha256(r).digest()
        )  # S from R: no check
        return super().issue(applicant, se_id, kind, public_key, r)


class NoCommitmentCheck(TsmService):
    """Does not compare H[R] with the S the SE committed to (TSM-KEY-02)."""

    def __init__(self, backend: JlisBackend, target: SeTarget) -> None:
        super().__init__(backend, target)
        _swap_backend(self, _TrustingBackend)


class FixedTempPin(TsmService):
    """Uses the same temporary PIN every time (TSM-PIN-01)."""

    def new_temp_pin(self) -> bytes:
        return b"0000000000000000"


class _NoBindingBackend(JlisBackend):
    def check_binding(self, card_serial: str, se_id: str) -> None:
        return None


class NoBindingCheck(TsmService):
    """Initialises the PIN of whatever SE asks (TSM-SEID-01)."""

    def __init__(self, backend: JlisBackend, target: SeTarget) -> None:
        super().__init__(backend, target)
        _swap_backend(self, _NoBindingBackend)


class _BlindBackend(JlisBackend):
    def phone_certificates(self, card_serial: str, live_only: bool = False) -> list[PhoneCertificate]:
        return [] if live_only else super().phone_certificates(card_serial)


class LateDoubleIssuanceCheck(TsmService):
    """Looks at existing certificates only when issuing, after the SE generated new keys (TSM-ISS-01)."""

    def __init__(self, backend: JlisBackend, target: SeTarget) -> None:
        super().__init__(backend, target)
        _swap_backend(self, _BlindBackend)


class _NoRevocationBackend(JlisBackend):
    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        return []


class NoOldRevocation(TsmService):
    """Leaves the old device's certificates valid on a device change (TSM-DEV-01)."""

    def __init__(self, backend: JlisBackend, target: SeTarget) -> None:
        super().__init__(backend, target)
        _swap_backend(self, _NoRevocationBackend)


class NoRemoteDeletion(TsmService):
    """Revokes the old device but never tries to delete its keys, nor records anything (TSM-DEL-01)."""

    def request_remote_deletion(self, se_id: str) -> None:
        return None


low_level = LowLevel
imports_key = ImportsKey
no_commitment_check = NoCommitmentCheck
fixed_temp_pin = FixedTempPin
no_binding_check = NoBindingCheck
late_double_issuance_check = LateDoubleIssuanceCheck
no_old_revocation = NoOldRevocation
no_remote_deletion = NoRemoteDeletion
