"""An in-memory br-tun flow table that applies our plain FlowMods and forwards packets.

In the spirit of faucet's ``tests/unit/faucet/fakeoftable.py``, but for our own flow model
(``ryu_vxlan_vpc.flows``): the controller's churn and restart sequences run against it as
fast unit tests, and a packet can be traced through the pipeline, learn() included, the way
OVS would handle it. Only what our pipeline uses is simulated; anything else raises.
"""
import dataclasses
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.flows.model import (FIELD_WIDTHS, Flow, FlowStats, Learn, LearnLoad, LearnMatch,
                                       Load, Match, ModVlanVid, Move, Output, Resubmit,
                                       SetField, SetTunnel, StripVlan)
from ryu_vxlan_vpc.flows.mods import AddFlow, DeleteFlows, DeleteStrict

MAX_RESUBMIT_DEPTH = 64   # OVS's translation depth limit
OFPP_IN_PORT = 0xfffffff8
CFI = 0x1000              # VLAN_TCI "tag present" bit: a tagged packet has tci = 0x1000|vid
# NXM fields that map onto a Match attribute (what learn() can write a match on).
MATCH_ATTRS = {'NXM_OF_IN_PORT': 'in_port', 'NXM_OF_VLAN_TCI': 'vlan_tci',
               'NXM_OF_ETH_SRC': 'dl_src', 'NXM_OF_ETH_DST': 'dl_dst',
               'NXM_NX_TUN_ID': 'tun_id'}


class InvalidMod(ValueError):
    """A mod OVS would reject (out-of-range table, priority, cookie or timeout)."""


class ResubmitLoop(RuntimeError):
    """Translation went deeper than OVS allows; OVS would drop the packet."""


@dataclass(frozen=True)
class Packet:
    dl_src: str
    dl_dst: str
    vlan: Optional[int] = None     # VLAN id when tagged
    tun_id: Optional[int] = None   # None: not from a tunnel (OVS reads it as 0)
    eth_type: int = 0x0800
    arp_op: int = 0                # ARP fields (eth_type 0x0806); addresses as text
    arp_spa: str = '0.0.0.0'
    arp_tpa: str = '0.0.0.0'
    arp_sha: str = '00:00:00:00:00:00'
    arp_tha: str = '00:00:00:00:00:00'


@dataclass
class Trace:
    """One packet's fate: (port, packet as sent) per output, flows hit, flows learned."""
    outputs: List[Tuple[int, Packet]] = field(default_factory=list)
    hits: List[Flow] = field(default_factory=list)
    learned: List[Flow] = field(default_factory=list)

    @property
    def ports(self):
        return [port for port, _ in self.outputs]


# --- fields as integers, by NXM name: what matching, load and learn() work on ----------

def mac_int(mac):
    return int(mac.replace(':', ''), 16)


def mac_str(value):
    return ':'.join('%02x' % ((value >> s) & 0xff) for s in range(40, -8, -8))


def ones(bits):
    return (1 << bits) - 1


def ip_int(text):
    a, b, c, d = (int(x) for x in text.split('.'))
    return (a << 24) | (b << 16) | (c << 8) | d


def ip_str(value):
    return '.'.join(str((value >> s) & 0xff) for s in (24, 16, 8, 0))


# NXM field -> (Packet attribute, to int, from int): what move, set_field and matching use.
PACKET_FIELDS = {
    'NXM_OF_ETH_SRC': ('dl_src', mac_int, mac_str),
    'NXM_OF_ETH_DST': ('dl_dst', mac_int, mac_str),
    'NXM_OF_ETH_TYPE': ('eth_type', int, int),
    'NXM_OF_ARP_OP': ('arp_op', int, int),
    'NXM_OF_ARP_SPA': ('arp_spa', ip_int, ip_str),
    'NXM_OF_ARP_TPA': ('arp_tpa', ip_int, ip_str),
    'NXM_NX_ARP_SHA': ('arp_sha', mac_int, mac_str),
    'NXM_NX_ARP_THA': ('arp_tha', mac_int, mac_str),
}
SET_FIELD_NXM = {'eth_src': 'NXM_OF_ETH_SRC', 'eth_dst': 'NXM_OF_ETH_DST',
                 'arp_op': 'NXM_OF_ARP_OP', 'arp_spa': 'NXM_OF_ARP_SPA',
                 'arp_tpa': 'NXM_OF_ARP_TPA', 'arp_sha': 'NXM_NX_ARP_SHA',
                 'arp_tha': 'NXM_NX_ARP_THA'}


def packet_fields(packet, in_port):
    """The packet's current value of every field we match on."""
    fields = {'NXM_OF_IN_PORT': in_port,
              'NXM_OF_VLAN_TCI': CFI | packet.vlan if packet.vlan is not None else 0,
              'NXM_NX_TUN_ID': packet.tun_id or 0}
    for name, (attr, to_int, _) in PACKET_FIELDS.items():
        fields[name] = to_int(getattr(packet, attr))
    return fields


def set_packet_field(packet, name, value):
    attr, _, from_int = PACKET_FIELDS[name]
    return dataclasses.replace(packet, **{attr: from_int(value)})


def _as_masked(value):
    """A match value as (value, mask) integers; a plain value is exact (mask -1: all bits,
    whatever the field's width, so a 32-bit port number is not cut to NXM's 16 bits)."""
    v, m = value if isinstance(value, (tuple, list)) else (value, -1)
    return (mac_int(v), m if m == -1 else mac_int(m)) if isinstance(v, str) else (v, m)


def match_fields(match):
    """{NXM name: (value, mask)} for every field a match sets, as OVS stores it: dl_vlan
    folds into the TCI (dl_vlan=22 is vlan_tci=0x1016/0x1fff). ``other`` is left out."""
    fields = {}
    for name, attr in MATCH_ATTRS.items():
        if getattr(match, attr) is not None:
            fields[name] = _as_masked(getattr(match, attr))
    if match.dl_vlan is not None:
        value, mask = fields.get('NXM_OF_VLAN_TCI', (0, 0))
        fields['NXM_OF_VLAN_TCI'] = (value | CFI | match.dl_vlan, mask | 0x1fff)
    if match.eth_type is not None:
        fields['NXM_OF_ETH_TYPE'] = (match.eth_type, 0xffff)
    if match.arp_tpa is not None:
        fields['NXM_OF_ARP_TPA'] = (ip_int(match.arp_tpa), 0xffffffff)
    return {name: (value & mask, mask) for name, (value, mask) in fields.items()}


def covers(flow_match, match):
    """OpenFlow non-strict delete: ``flow_match`` is at least as specific as ``match``."""
    have = match_fields(flow_match)
    for name, (value, mask) in match_fields(match).items():
        fv, fm = have.get(name, (0, 0))
        if fm & mask != mask or fv & mask != value:
            return False
    return set(match.other) <= set(flow_match.other)


def _validate(mod):
    """Raise InvalidMod where OVS would answer the FlowMod with an error."""
    if isinstance(mod, DeleteFlows):
        checks = [('table', 0 if mod.table is None else mod.table, 254),
                  ('cookie', mod.cookie, ones(64))]
    elif isinstance(mod, (AddFlow, DeleteStrict)):
        f = mod.flow
        checks = [('table', f.table, 254), ('priority', f.priority, 0xffff),
                  ('cookie', f.cookie, ones(64)), ('idle_timeout', f.idle_timeout, 0xffff),
                  ('hard_timeout', f.hard_timeout, 0xffff)]
    else:
        raise TypeError('not a flow mod: %r' % (mod,))
    for name, value, top in checks:
        if not 0 <= value <= top:
            raise InvalidMod('%s %r out of range in %r' % (name, value, mod))


class FakeOFTable:
    """One bridge's flow tables, keyed by ``Flow.key`` like OVS keys its entries."""

    def __init__(self, flows=()):
        self.entries = {}     # Flow.key -> Flow
        self.installed = {}   # Flow.key -> time added, re-added or re-learned (hard_timeout)
        self.used = {}        # Flow.key -> time last hit (idle_timeout)
        self.created = {}     # Flow.key -> time the entry was made (its duration's origin)
        self.now = 0.0
        self.n_mods = 0       # mods applied, singly or in bundles
        self.n_applies = 0    # apply() calls
        self.n_bundles = 0    # committed bundles
        self.apply_all(AddFlow(f) for f in flows)

    # --- flow mods -----------------------------------------------------------------

    def apply(self, mod):
        _validate(mod)
        self.n_applies += 1
        self._apply(mod)

    def apply_all(self, mods):
        """Each mod on its own, as separate FlowMods: a bad one leaves the earlier applied."""
        for mod in mods:
            self.apply(mod)

    def apply_bundle(self, mods):
        """All or nothing, like a bundle commit: a bad mod raises and changes nothing."""
        mods = list(mods)
        for mod in mods:   # every check before any change: applying a valid mod cannot fail
            _validate(mod)
        for mod in mods:
            self._apply(mod)
        self.n_bundles += 1

    def _apply(self, mod):
        self.n_mods += 1
        if isinstance(mod, AddFlow):
            self._add(mod.flow)   # same key: replaced, whatever its cookie (OFPFC_ADD)
        elif isinstance(mod, DeleteStrict):
            old = self.entries.get(mod.flow.key)
            if old is not None and old.cookie == mod.flow.cookie:
                self._remove(old)
        else:
            for flow in list(self.entries.values()):
                if self._deletes(mod, flow):
                    self._remove(flow)

    @staticmethod
    def _deletes(mod, flow):
        if flow.cookie != mod.cookie or mod.table not in (None, flow.table):
            return False
        # out_port looks at output actions only; the port a learn() would output to
        # is not an output of this flow for OVS.
        if mod.out_port is not None and Output(mod.out_port) not in flow.actions:
            return False
        return covers(flow.match, mod.match)

    def _add(self, flow):
        # As OVS: learn() refreshing an identical flow keeps its creation time.
        if self.entries.get(flow.key) != flow:
            self.created[flow.key] = self.now
        self.entries[flow.key] = flow
        self.installed[flow.key] = self.used[flow.key] = self.now

    def _remove(self, flow):
        for table in (self.entries, self.installed, self.used, self.created):
            table.pop(flow.key, None)

    # --- read-back -----------------------------------------------------------------

    def flows(self, table=None, cookie=None):
        """The installed flows, as a dump-flows read-back gives them, in a stable order."""
        found = [f for f in self.entries.values()
                 if table in (None, f.table) and cookie in (None, f.cookie)]
        return sorted(found, key=lambda f: (f.table, -f.priority, text.render(f)))

    def stats(self, table=None, cookie=None):
        """The flows with their durations, as FlowStats (a flow-stats reply)."""
        return [FlowStats(f, *_sec_nsec(self.now - self.created[f.key]))
                for f in self.flows(table, cookie)]

    def dump_text(self, table=None, cookie=None):
        return [text.render(f) for f in self.flows(table, cookie)]

    def expire(self, seconds):
        """Advance the clock; drop flows past their hard or idle timeout. Returns them."""
        self.now += seconds
        gone = [f for f in self.entries.values()
                if (f.hard_timeout and self.now - self.installed[f.key] >= f.hard_timeout)
                or (f.idle_timeout and self.now - self.used[f.key] >= f.idle_timeout)]
        for flow in gone:
            self._remove(flow)
        return gone

    # --- packets -------------------------------------------------------------------

    def lookup(self, table, packet, in_port):
        """The highest-priority flow of ``table`` matching the packet, or None (drop)."""
        fields = packet_fields(packet, in_port)
        hits = [f for f in self.entries.values()
                if f.table == table and not f.match.other   # packets carry no other fields
                and all(fields[name] & mask == value
                        for name, (value, mask) in match_fields(f.match).items())]
        return max(hits, key=lambda f: f.priority, default=None)

    def process(self, packet, in_port):
        """Forward ``packet`` arriving on ``in_port`` from table 0; returns a Trace."""
        trace = Trace()
        self._table(0, packet, in_port, trace, 0)
        return trace

    def _table(self, table, packet, in_port, trace, depth):
        if depth >= MAX_RESUBMIT_DEPTH:
            raise ResubmitLoop('over %d resubmits at table %d' % (depth, table))
        flow = self.lookup(table, packet, in_port)
        if flow is None:
            return packet   # table miss: OpenFlow 1.3 drops
        trace.hits.append(flow)
        self.used[flow.key] = self.now
        for action in flow.actions:
            if isinstance(action, Output):
                port = in_port if action.port == OFPP_IN_PORT else action.port
                # OVS skips output to the input port unless it is written as IN_PORT.
                if action.port == OFPP_IN_PORT or port != in_port:
                    trace.outputs.append((port, packet))
            elif isinstance(action, Resubmit):
                packet = self._table(action.table, packet, in_port, trace, depth + 1)
            elif isinstance(action, ModVlanVid):
                packet = dataclasses.replace(packet, vlan=action.vid)
            elif isinstance(action, StripVlan):
                packet = dataclasses.replace(packet, vlan=None)
            elif isinstance(action, SetTunnel):
                packet = dataclasses.replace(packet, tun_id=action.tun_id)
            elif isinstance(action, Load):
                packet = _load(packet, action)
            elif isinstance(action, SetField):
                name = SET_FIELD_NXM[action.field]
                value = PACKET_FIELDS[name][1](action.value)
                packet = set_packet_field(packet, name, value)
            elif isinstance(action, Move):
                packet = _move(packet, in_port, action)
            elif isinstance(action, Learn):
                learned = _learned(action, packet, in_port)
                self._add(learned)
                trace.learned.append(learned)
            else:
                raise NotImplementedError('cannot simulate %r' % (action,))
        return packet   # a resubmit's changes carry on in the caller, as in OVS


def _sec_nsec(seconds):
    return int(seconds), int(round((seconds - int(seconds)) * 1e9))


def _bits(packet, in_port, src):
    """A learn spec's source: a constant, or the bits of a field as the packet has them now."""
    if isinstance(src, int):
        return src
    return (packet_fields(packet, in_port)[src.name] >> src.ofs) & ones(src.n_bits)


def _load(packet, load):
    dst = load.dst
    mask = ones(dst.n_bits) << dst.ofs
    old = packet_fields(packet, None)[dst.name]
    value = (old & ~mask) | ((load.value << dst.ofs) & mask)
    if dst.name == 'NXM_OF_VLAN_TCI':   # CFI clear: no tag (load:0 untags)
        return dataclasses.replace(packet, vlan=value & 0xfff if value & CFI else None)
    if dst.name == 'NXM_NX_TUN_ID':
        return dataclasses.replace(packet, tun_id=value)
    raise NotImplementedError('cannot simulate a load into %s' % dst.name)


def _move(packet, in_port, move):
    if move.src.n_bits != move.dst.n_bits:
        raise InvalidMod('move of %d bits into %d' % (move.src.n_bits, move.dst.n_bits))
    fields = packet_fields(packet, in_port)
    bits = (fields[move.src.name] >> move.src.ofs) & ones(move.src.n_bits)
    mask = ones(move.dst.n_bits) << move.dst.ofs
    value = (fields[move.dst.name] & ~mask) | (bits << move.dst.ofs)
    return set_packet_field(packet, move.dst.name, value)


def _learned(learn, packet, in_port):
    """The flow OVS's learn() writes for this packet: specs evaluated against it now."""
    masks = {}     # NXM field -> (value, mask) the learned flow matches on
    actions = []
    for spec in learn.specs:
        if isinstance(spec, LearnMatch):
            value, mask = masks.get(spec.dst.name, (0, 0))
            bits = ones(spec.dst.n_bits) << spec.dst.ofs
            value |= (_bits(packet, in_port, spec.src) << spec.dst.ofs) & bits
            masks[spec.dst.name] = (value, mask | bits)
        elif isinstance(spec, LearnLoad):
            actions.append(Load(_bits(packet, in_port, spec.src), spec.dst))
        else:
            actions.append(Output(_bits(packet, in_port, spec.src)))
    match = {}
    for name, (value, mask) in masks.items():
        exact = mask == ones(FIELD_WIDTHS[name])
        if name in ('NXM_OF_ETH_SRC', 'NXM_OF_ETH_DST'):
            value, mask = mac_str(value), mac_str(mask)
        match[MATCH_ATTRS[name]] = value if exact else (value, mask)
    return Flow(table=learn.table, priority=learn.priority, match=Match(**match),
                actions=tuple(actions), cookie=learn.cookie,
                idle_timeout=learn.idle_timeout, hard_timeout=learn.hard_timeout)
