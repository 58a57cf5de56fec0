"""The reference TSM (system.md §2): flows 4.1-4.5 over GP Amendment B HTTP towards the handset's admin
agent, with the simulated J-LIS back end (jpkikit.reference.backend). See docs/tsm-protocol.md."""

from __future__ import annotations

from jpkikit.reference.tsm.flows import FlowError, Order, SeTarget
from jpkikit.reference.tsm.server import TsmHttpServer, TsmService

__all__ = [
    "FlowError",
    "Order",
    "SeTarget",
    "TsmHttpServer",
    "TsmService",
]
