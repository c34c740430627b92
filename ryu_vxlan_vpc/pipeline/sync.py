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

Rows: the thousands of flows other nodes' ports make (tables 20 and 21) are planned as
rows of their shape (flows.rows, pipeline.populated), never as 100k Flow objects. A row is
present when the reader found its exact bytes (``matched``) or a flow read back equals its
flow; missing rows are added; a flow in the shape's place that no row wants as it is goes,
unless a wanted row's add replaces it in place.

Drift: ``last_desired`` is what the previous sync of this connection left on the switch.
A wanted flow from it that is missing or different now, or a flow with our cookie that we
never installed, was changed behind our back; the plan lists those as ``repaired``.
"""
from dataclasses import dataclass
from typing import Tuple

from ..flows.mods import AddFlow, AddRows, DeleteFlows, DeleteStrict
from ..flows.model import Flow, Match, ModVlanVid, Resubmit
from ..flows.rows import Desired, FlowRows, FlowSeq, RowSets, split
from . import tables as t
from .learned import output_port, stale_learned_flows

VID_MASK = 0x0fff  # learned flows match the VLAN id bits of the TCI only


@dataclass(frozen=True)
class SyncPlan:
    add_flows: Tuple[Flow, ...]       # missing or different: OFPFC_ADD
    delete: Tuple[Flow, ...]          # ours, not wanted any more: OFPFC_DELETE_STRICT
    unchanged: int
    forget: Tuple[object, ...] = ()   # learned flows gone stale: DeleteFlows, DeleteStrict
    desired: Desired = Desired()      # what the switch holds once the plan is sent
    repaired: Tuple[Flow, ...] = ()   # of add + delete: undoing changes behind our back
    add_rows: Tuple[FlowRows, ...] = ()  # rows missing or different, per shape: OFPFC_ADD

    @property
    def add(self):
        """Every flow to add, rows read as Flows (``len`` is free, reading is not)."""
        return FlowSeq(self.add_flows, self.add_rows)

    @property
    def empty(self):
        return not self.add and not self.delete and not self.forget

    def wire_mods(self):
        """The FlowMods in sending order: adds, deletes, then the stale learned flows; each
        shape's rows as one AddRows (what the sender encodes without a Flow per row)."""
        return ([AddFlow(f) for f in self.add_flows] +
                [AddRows(r.shape, r.rows) for r in self.add_rows if r.rows] +
                [DeleteStrict(f) for f in self.delete] + list(self.forget))

    def mods(self):
        """``wire_mods()`` with every row as the AddFlow of its Flow (the fake flow table's
        input)."""
        return [one for mod in self.wire_mods()
                for one in (mod.flows() if isinstance(mod, AddRows) else (mod,))]


def plan_sync(desired, installed, learn_cookie=None, learned=None, tunnel_ages=None,
              last_desired=None, matched=None):
    """``desired``: Flows and FlowRows (br_tun.build_rows); ``installed``: our flows read
    back, less ``matched``: {shape: rows} the reader found exactly as wanted by their
    bytes (ofp.rows_read), without decoding them (its sets are taken over and added to).
    ``learned``/``tunnel_ages``: the learned flows and {ofport: age} of the tunnels, when
    they were read (see ``learned``); ``last_desired``: the previous sync's Desired, if
    any."""
    flows, families = split(desired)
    if len({f.shape for f in families}) != len(families):
        raise ValueError('two FlowRows of one shape: each shape lists all its rows once')
    wanted_rows = RowSets(families)
    # The reader's sets are taken over, not copied (100k rows: MiBs); _claim adds to them.
    matched = matched or {}
    present = {f.shape: (matched[f.shape] if isinstance(matched.get(f.shape), set)
                         else set(matched.get(f.shape, ()))) for f in families}
    rest, stale = _claim(installed, families, wanted_rows, present)
    have = set(rest)
    wanted_keys = {flow.key for flow in flows}
    add = tuple(flow for flow in flows if flow not in have)
    add_rows = tuple(FlowRows(f.shape, _missing(f.rows, present[f.shape])) for f in families)
    # Ours but no longer wanted; an entry re-added in place is not deleted.
    delete = tuple(flow for flow in rest if flow.key not in wanted_keys)
    if stale:
        keys = {shape: {shape.key(r) for r in wanted_rows[shape]}
                for shape in {shape for shape, _, _ in stale}}
        delete += tuple(flow for shape, key, flow in stale if key not in keys[shape])
    forget = () if learn_cookie is None else stale_learned(flows, installed, learn_cookie)
    if learned is not None:
        forget += _not_covered(stale_learned_flows(learned, tunnel_ages or {}), forget)
    repaired = () if last_desired is None else (
        tuple(f for f in add if f in last_desired) +
        tuple(r.shape.flow(row) for r in add_rows
              for row in last_desired.rows_among(r.shape, r.rows)) +
        tuple(f for f in delete if f not in last_desired))
    added = len(add) + sum(len(r) for r in add_rows)
    return SyncPlan(add, delete, len(flows) + sum(len(f.rows) for f in families) - added,
                    forget, Desired(frozenset(flows), wanted_rows), repaired, add_rows)


def _missing(rows, present):
    return tuple(row for row in rows if row not in present)


def _claim(installed, families, wanted_rows, present):
    """Sort the flows read back: those in a shape's place (table, priority, match of its
    fields) are that shape's -- present when a wanted row's flow exactly, else stale, as
    (shape, key, flow) -- and the rest are compared as plain flows."""
    places = {(f.shape.table, f.shape.priority): f.shape for f in families}
    rest, stale = [], []
    for flow in installed:
        shape = places.get((flow.table, flow.priority))
        key = None if shape is None else shape.key_of(flow)
        if key is None:
            rest.append(flow)
            continue
        row = shape.row_of(flow)
        if row is not None and row in wanted_rows[shape]:
            present[shape].add(row)
        else:
            stale.append((shape, key, flow))
    return rest, stale


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
