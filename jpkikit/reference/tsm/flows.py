"""The reference TSM's flows (seed 004 pp.15-26; docs/spec/system.md) as generators: each yields the C-APDUs
of one script and receives the R-APDUs the admin agent sent back, so one flow spans one Amendment B HTTP
session (jpkikit.reference.tsm.server). Every provisioning command goes through SCP03 with the APSD key set
(seed 004 p.12) at the TSM's configured level. A flow ends by returning its result, or raises
:class:`FlowError`.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from jpkikit.errors import KitError
from jpkikit.reference.backend import BackendError, JlisBackend
from jpkikit.reference.backend.service import CardApplicant
from jpkikit.reference.tsm.secure_script import ScriptChannel
from jpkikit.vocab.gp.ram_script import is_error
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.scp03.keys import StaticKeys

Script = Generator[list[CommandApdu], list[ResponseApdu], Any]
TEMP_PIN_BYTES = 16  # "random, up to 16 bytes, generated fresh each time" (seed 004 p.17)


class FlowError(KitError):
    """The flow cannot go on; ``reason`` is stable (backend reasons, or se-error / se-garbage)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class SeTarget:
    """How the TSM reaches the JPKI applet: its AID and the APSD's SCP03 keys, AID and level."""

    jpki_aid: bytes
    apsd_aid: bytes
    keys: StaticKeys
    level: int


@dataclass
class Order:
    """One user request (one of the flows of docs/spec/system.md): what to do, and what came out of it."""

    operation: str  # issue | renew | pin-init | revoke | delete
    applicant: CardApplicant | None = None
    kinds: tuple[str, ...] = ("auth", "sign")
    confirm_revoke_old: bool = False  # the user confirmed revoking an old device (steps ⑬⑭)
    se_id: str | None = None  # for delete: the SE whose keys are to be removed
    push_url: str | None = None  # where to wake this device's app later (remote deletion, seed 004 p.25)
    result: dict[str, Any] = field(default_factory=dict)


class SeConversation:
    """SCP03 over scripts with the JPKI applet (its associated SD's key set)."""

    def __init__(self, target: SeTarget) -> None:
        self.target = target
        self.channel = ScriptChannel(target.keys, target.apsd_aid, target.level)
        self.prefix: list[CommandApdu] = []

    def open(self) -> Script:
        select = CommandApdu(0x00, 0xA4, 0x04, 0x0C, self.target.jpki_aid)
        responses = yield [select, self.channel.initialize_update()]
        if len(responses) != 2 or responses[0].sw != 0x9000:
            raise FlowError("se-error", f"SELECT of the JPKI applet answered {_sws(responses)}")
        try:
            self.prefix = [self.channel.external_authenticate(responses[1])]
        except (KitError, ValueError) as exc:
            raise FlowError("se-error", f"SCP03 handshake: {exc}") from None

    def send(self, commands: list[CommandApdu]) -> Script:
        """Wrap ``commands``, send them in one script (after a pending EXTERNAL AUTHENTICATE), return the
        plain answers; FlowError when the SE stops early, refuses one, or its protection does not verify."""
        prefix, self.prefix = self.prefix, []
        first = self.channel.wrapped_count
        wire = prefix + [self.channel.wrap(c) for c in commands]
        responses = yield wire
        if prefix:
            if not responses or responses[0].sw != 0x9000:
                raise FlowError("se-error", f"EXTERNAL AUTHENTICATE answered {_sws(responses[:1])}")
            responses = responses[1:]
        plain = []
        for n, response in enumerate(responses):
            try:
                plain.append(self.channel.unwrap(first + n, response))
            except KitError as exc:
                raise FlowError("se-garbage", f"answer {n + 1} of the script: {exc}") from None
        bad = next((n for n, r in enumerate(plain) if is_error(r.sw)), None)
        if bad is not None or len(plain) != len(commands):
            where = bad if bad is not None else len(plain)
            # name the command by its header only: its data may be a temporary PIN (never in an error text)
            what = f"{commands[where].cla:02X} {commands[where].ins:02X}" if where < len(commands) else "?"
            raise FlowError("se-error", f"SE answered {_sws(plain[where : where + 1])} to command {what}")
        return plain


def _sws(responses: list[ResponseApdu]) -> str:
    return ", ".join(f"{r.sw:04X}" for r in responses) or "nothing"


def _slot(kind: str) -> int:
    return se.SLOT_NAMES[kind]


def read_se_id(conv: SeConversation) -> Script:
    (answer,) = yield from conv.send([se.get_se_id()])
    if not 1 <= len(answer.data) <= 32:
        raise FlowError("se-garbage", f"SE identification ID of {len(answer.data)} bytes")
    return answer.data.hex().upper()


def new_temp_pin() -> bytes:
    return os.urandom(TEMP_PIN_BYTES)


def temp_pin_sequence(conv: SeConversation, kinds: tuple[str, ...], order: Order, tsm: Any) -> Script:
    """Seed 004 p.17 ㉓-㉖ / p.18: a fresh random temporary PIN per PIN, set then blocked; the app gets it."""
    temp = {kind: tsm.new_temp_pin() for kind in kinds}
    commands = []
    for kind in kinds:
        commands += [se.set_temp_pin(_slot(kind), temp[kind]), se.block_pin(_slot(kind))]
    yield from conv.send(commands)
    order.result["temp_pins"] = {kind: value.hex() for kind, value in temp.items()}


def issuance(order: Order, target: SeTarget, backend: JlisBackend, tsm: Any) -> Script:
    """First issuance, seed 004 p.15 (with the p.16 decisions and p.17 PIN setting); ``renew`` replaces
    this SE's own certificates."""
    applicant = order.applicant
    assert applicant is not None
    conv = SeConversation(target)
    yield from conv.open()
    se_id = yield from read_se_id(conv)  # steps ⑥⑦
    order.result["se_id"] = se_id
    live = backend.phone_certificates(applicant.serial, live_only=True)  # steps ⑧⑨
    old_ses = sorted({c.se_id for c in live if c.se_id != se_id})
    if old_ses and not order.confirm_revoke_old:
        raise FlowError("confirmation-needed", f"card has live phone certificates on SE(s) {old_ses}")
    same = [c.serial for c in live if c.se_id == se_id and c.kind in order.kinds]
    if same and order.operation != "renew":
        # refused before any key generation, so the SE keeps its working keys (seed 004 p.4)
        raise FlowError("double-issuance", f"this SE already holds live phone certificates {same}")
    if order.operation == "renew":
        order.result["revoked"] = backend.revoke_se(applicant.serial, se_id, "renewal")
    for old in old_ses:  # device change: revoke the old device, then delete remotely (pp.16, 25)
        order.result.setdefault("revoked", []).extend(
            backend.revoke_se(applicant.serial, old, "device-change")
        )
        tsm.request_remote_deletion(old)
    commits = yield from conv.send([se.commit(_slot(k)) for k in order.kinds])  # step ⑰
    for kind, answer in zip(order.kinds, commits, strict=True):
        backend.record_commitment(applicant.serial, se_id, kind, answer.data)
    generated = yield from conv.send([se.generate_key(_slot(k)) for k in order.kinds])
    certificates = {}
    for kind, answer in zip(order.kinds, generated, strict=True):
        try:
            key = se.parse_generated_key(answer.data)
        except se.SeAnswerError as exc:
            raise FlowError("se-garbage", str(exc)) from None
        certificates[kind] = backend.issue(applicant, se_id, kind, key.public_key, key.r)  # steps ⑱-⑳
    order.result["certificates"] = {k: c.serial for k, c in certificates.items()}
    writes = [c for kind in order.kinds for c in se.put_certificate(_slot(kind), certificates[kind].der)]
    yield from conv.send(writes)  # steps ㉑㉒
    yield from temp_pin_sequence(conv, order.kinds, order, tsm)  # step ㉓, seed 004 p.17
    return order.result


def pin_initialisation(order: Order, target: SeTarget, backend: JlisBackend, tsm: Any) -> Script:
    """PIN initialisation: only for the SE bound to the card (seed 004 p.18)."""
    applicant = order.applicant
    assert applicant is not None
    conv = SeConversation(target)
    yield from conv.open()
    se_id = yield from read_se_id(conv)
    order.result["se_id"] = se_id
    backend.check_binding(applicant.serial, se_id)
    yield from temp_pin_sequence(conv, order.kinds, order, tsm)
    return order.result


def revocation_from_phone(order: Order, target: SeTarget, backend: JlisBackend, tsm: Any) -> Script:
    """Revocation requested from the phone alone (no card; seed 004 pp.4, 23): the SE proves itself over
    SCP03; its certificates are revoked and its keys deleted in the same session."""
    conv = SeConversation(target)
    yield from conv.open()
    se_id = yield from read_se_id(conv)
    order.result["se_id"] = se_id
    order.result["revoked"] = backend.revoke_all_on_se(se_id, "revoked-from-phone")
    yield from conv.send([se.delete_keys()])
    order.result["deleted"] = True
    return order.result


def deletion(order: Order, target: SeTarget, backend: JlisBackend, tsm: Any) -> Script:
    """Remote deletion of keys and certificates on an old device after revocation (seed 004 p.25)."""
    conv = SeConversation(target)
    yield from conv.open()
    se_id = yield from read_se_id(conv)
    if order.se_id is not None and se_id != order.se_id:
        raise FlowError("se-not-bound", f"deletion is for SE {order.se_id}, this is {se_id}")
    yield from conv.send([se.delete_keys()])
    order.result.update(se_id=se_id, deleted=True)
    return order.result


FLOWS = {
    "issue": issuance,
    "renew": issuance,
    "pin-init": pin_initialisation,
    "revoke": revocation_from_phone,
    "delete": deletion,
}
CARD_OPERATIONS = ("issue", "renew", "pin-init")

__all__ = ["FLOWS", "BackendError", "FlowError", "Order", "SeTarget"]
