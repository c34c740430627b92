"""Flow changes as plain data: what the controller core decides and the app sends.

``ofp.encode.flow_mod`` turns each into an OpenFlow 1.3 FlowMod; the in-memory flow table
of the tests applies them the way OVS does. Nothing here talks to a switch.
"""
from dataclasses import dataclass
from typing import Optional

from .model import Flow, Match


@dataclass(frozen=True)
class AddFlow:
    """OFPFC_ADD: installs ``flow``, replacing the entry with the same table/priority/match."""
    flow: Flow


@dataclass(frozen=True)
class DeleteStrict:
    """OFPFC_DELETE_STRICT: removes exactly ``flow``'s entry, if it still has its cookie."""
    flow: Flow


@dataclass(frozen=True)
class DeleteFlows:
    """OFPFC_DELETE: every flow with ``cookie`` (exact) in ``table`` (None: all tables) whose
    match is at least as specific as ``match`` and, when ``out_port`` is given, that
    outputs to it."""
    cookie: int
    table: Optional[int] = None
    match: Match = Match()
    out_port: Optional[int] = None


@dataclass(frozen=True)
class AddRows:
    """OFPFC_ADD of each row's flow (flows.rows): the bulk of a sync, encoded per shape
    without a Flow object per row (``ofp.rows_wire``)."""
    shape: object   # a flows.rows.Shape
    rows: tuple

    def __len__(self):
        return len(self.rows)

    def flows(self):
        return [AddFlow(self.shape.flow(row)) for row in self.rows]
