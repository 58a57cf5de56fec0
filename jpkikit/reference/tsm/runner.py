"""One order's flow in motion: the generator, its journal, and the rebuild after a restart of the TSM
(jpkikit.reference.tsm.journal explains the replay)."""

from __future__ import annotations

from typing import Any

from jpkikit.reference.tsm.flows import FlowContext, FlowFn, Order
from jpkikit.reference.tsm.journal import Journal, JournalDiverged
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu


def _wire(script: list[CommandApdu]) -> list[bytes]:
    return [c.to_bytes() for c in script]


class FlowRun:
    def __init__(self, tsm: Any, order: Order, flow: FlowFn, entries: list[tuple[str, Any]]) -> None:
        self.order = order
        self.journal = Journal(entries)
        self.fx = FlowContext(tsm, journal=self.journal)
        self.flow = flow(order, self.fx)
        self.started = False

    def start(self) -> list[CommandApdu]:
        """The first script (StopIteration when the flow needs no SE at all)."""
        self.started = True
        script = next(self.flow)
        self.journal.note("script", _wire(script))
        return script

    def advance(self, responses: list[ResponseApdu]) -> list[CommandApdu]:
        """Feed the answers to the last script; the next script (StopIteration when the flow is over)."""
        self.journal.note("responses", [r.to_bytes() for r in responses])
        script = self.flow.send(responses)
        self.journal.note("script", _wire(script))
        return script

    @classmethod
    def rebuild(cls, tsm: Any, order: Order, flow: FlowFn, entries: list[tuple[str, Any]]) -> FlowRun:
        """Run the flow again against its journal, up to the script whose answers have not come yet."""
        run = cls(tsm, order, flow, entries)
        run.started = True
        script = next(run.flow)
        while True:
            recorded = run.journal.take("script")
            if recorded != _wire(script):
                raise JournalDiverged("the replayed flow sent another script than the first time")
            if run.journal.next_kind() != "responses":
                break
            answers = [ResponseApdu.parse(r) for r in run.journal.take("responses")]
            script = run.flow.send(answers)
        if run.journal.replaying:
            raise JournalDiverged("the journal holds entries beyond the last script")
        run.journal.flush()
        return run
