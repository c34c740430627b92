"""What a resync sends: the difference between the flows wanted and the flows found.

Pure. ``installed`` are the flows read back from the switch with our ``flow_cookie``.
A flow is kept when the switch already holds it exactly; a wanted flow whose entry
(table, priority, match) holds something else is re-added, which replaces it in place.
Entries we hold that are no longer wanted are deleted, after the adds, so that traffic
never meets a gap.

Learned flows (table 20, ``learn_cookie``) are not ours to list, but the installed
pipeline says which of them went stale: a tunnel whose table-0 flow goes away takes the
MACs learned behind its ofport with it, and a VNI -> local VLAN mapping of table 4 that
goes away or changes takes the MACs learned on that VLAN (the VLAN may be handed to
another VPC next). Deriving this from what the switch holds, not from what we remember,
also catches changes made while the controller was down. With the learned flows and the
tunnel ports' ages read from the switch, ``learned.stale_learned_flows`` also finds the
MACs learned behind an ofport that another tunnel took since (see that module).

Drift: ``last_desired`` is what the previous sync of this connection left on the switch.
A wanted flow from it that is missing or different now, or a flow with our cookie that we
never installed, was changed behind our back; the plan lists those as ``repaired``.
"""
from dataclasses import dataclass
from typing import FrozenSet, Tuple

from ..flows.mods import AddFlow, DeleteFlows, DeleteStrict
from ..flows.model import Flow, Match, ModVlanVid, Resubmit
from . import tables as t
from .learned import output_port, stale_learned_flows

VID_MASK = 0x0fff  # learned flows match the VLAN id bits of the TCI only


@dataclass(frozen=True)
class SyncPlan:
    add: Tuple[Flow, ...]             # missing or different: OFPFC_ADD
    delete: Tuple[Flow, ...]          # ours, not wanted any more: OFPFC_DELETE_STRICT
    unchanged: int
    forget: Tuple[object, ...] = ()   # learned flows gone stale: DeleteFlows, DeleteStrict
    desired: FrozenSet[Flow] = frozenset()  # what the switch holds once the plan is sent
    repaired: Tuple[Flow, ...] = ()   # of add + delete: undoing changes behind our back

    @property
    def empty(self):
        return not self.add and not self.delete and not self.forget

    def mods(self):
        """The FlowMods in sending order: adds, deletes, then the stale learned flows."""
        return ([AddFlow(f) for f in self.add] + [DeleteStrict(f) for f in self.delete] +
                list(self.forget))


def plan_sync(desired, installed, learn_cookie=None, learned=None, tunnel_ages=None,
              last_desired=None):
    """``learned``/``tunnel_ages``: the learned flows and {ofport: age} of the tunnels, when
    they were read (see ``learned``); ``last_desired``: the previous sync's flows, if any."""
    have = set(installed)
    wanted_keys = {flow.key for flow in desired}
    add = tuple(flow for flow in desired if flow not in have)
    # Ours but no longer wanted; an entry re-added in place is not deleted.
    delete = tuple(flow for flow in installed if flow.key not in wanted_keys)
    forget = () if learn_cookie is None else stale_learned(desired, installed, learn_cookie)
    if learned is not None:
        forget += _not_covered(stale_learned_flows(learned, tunnel_ages or {}), forget)
    repaired = () if last_desired is None else (
        tuple(f for f in add if f in last_desired) +
        tuple(f for f in delete if f not in last_desired))
    return SyncPlan(add, delete, len(desired) - len(add), forget, frozenset(desired),
                    repaired)


def _not_covered(exact, broad):
    """The exact deletes of learned flows that no broad delete (by port, by VLAN) removes."""
    ports = {d.out_port for d in broad if d.out_port is not None}
    vlans = {d.match.vlan_tci[0] for d in broad if d.match.vlan_tci is not None}
    return tuple(d for d in exact if output_port(d.flow) not in ports
                 and _vid(d.flow.match.vlan_tci) not in vlans)


def _vid(vlan_tci):
    if vlan_tci is None:
        return None
    value = vlan_tci[0] if isinstance(vlan_tci, tuple) else vlan_tci
    return value & VID_MASK


def _tunnel_ports(flows):
    """In-ports that table 0 sends to the VXLAN table: the tunnels."""
    return {f.match.in_port for f in flows if f.table == t.LOCAL_SWITCHING
            and f.match.in_port is not None and Resubmit(t.VXLAN_TUN_TO_LV) in f.actions}


def _vni_vlans(flows):
    """{(VNI, local VLAN)} of table 4."""
    return {(f.match.tun_id, a.vid) for f in flows if f.table == t.VXLAN_TUN_TO_LV
            and f.match.tun_id is not None for a in f.actions if isinstance(a, ModVlanVid)}


def stale_learned(desired, installed, learn_cookie):
    gone_ports = sorted(_tunnel_ports(installed) - _tunnel_ports(desired))
    gone_vlans = sorted({vlan for _, vlan in _vni_vlans(installed) - _vni_vlans(desired)})
    return (tuple(DeleteFlows(learn_cookie, t.UCAST_TO_TUN, out_port=port)
                  for port in gone_ports) +
            tuple(DeleteFlows(learn_cookie, t.UCAST_TO_TUN, Match(vlan_tci=(vlan, VID_MASK)))
                  for vlan in gone_vlans))
