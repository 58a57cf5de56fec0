"""The reference TSM (SP-TSM and SEI-TSM, docs/spec/system.md#actors): the flows of seed 004 pp.15-26 over GP
Amendment B HTTP towards the handset's admin agent, with the simulated J-LIS back end
(jpkikit.reference.backend). See docs/tsm-protocol.md."""

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
