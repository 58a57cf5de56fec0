"""The reference TSM (SP-TSM and SEI-TSM, docs/spec/system.md#actors): the flows of seed 004 pp.13-26 (and
the SIM design's, seeds 000, 001, 003) over GP Amendment B HTTP(S) towards the handset's admin agent, with
the simulated J-LIS back end (jpkikit.reference.backend), its state in sqlite. See docs/tsm-protocol.md."""

from __future__ import annotations

from jpkikit.reference.tsm.flows import FlowError, Order, SeiTarget, SeTarget, TsmOptions
from jpkikit.reference.tsm.server import TsmHttpServer, TsmService

__all__ = ["FlowError", "Order", "SeTarget", "SeiTarget", "TsmHttpServer", "TsmOptions", "TsmService"]
