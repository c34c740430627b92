"""What a resync sends: the difference between the flows wanted and the flows found.

Pure. ``installed`` are the flows read back from the switch with our ``flow_cookie``.
A flow is kept when the switch already holds it exactly; a wanted flow whose entry
(table, priority, match) holds something else is re-added, which replaces it in place.
Entries we hold that are no longer wanted are deleted, after the adds, so that traffic
never meets a gap.
"""
from dataclasses import dataclass
from typing import Tuple

from ..flows.model import Flow


@dataclass(frozen=True)
class SyncPlan:
    add: Tuple[Flow, ...]      # missing or different: OFPFC_ADD
    delete: Tuple[Flow, ...]   # ours, not wanted any more: OFPFC_DELETE_STRICT
    unchanged: int

    @property
    def empty(self):
        return not self.add and not self.delete


def plan_sync(desired, installed):
    have = set(installed)
    wanted_keys = {flow.key for flow in desired}
    add = tuple(flow for flow in desired if flow not in have)
    # Ours but no longer wanted; an entry re-added in place is not deleted.
    delete = tuple(flow for flow in installed if flow.key not in wanted_keys)
    return SyncPlan(add, delete, len(desired) - len(add))
