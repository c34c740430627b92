"""Plain, hashable flow descriptions: the currency between pipeline, app, REST and tests.

No Ryu objects and no I/O here. A ``Flow`` compares equal to another exactly when
OVS would hold the same entry (table, priority, match, actions, cookie, timeouts), so
a resync is a set difference between the desired flows and the flows read back.
"""
from dataclasses import dataclass
from typing import Optional, Tuple, Union

DEFAULT_PRIORITY = 32768  # OpenFlow's default; ovs-ofctl leaves it out when printing

# Bit widths of the NXM fields our pipeline names, used to print "FIELD[]" for a whole field.
FIELD_WIDTHS = {
    'NXM_OF_IN_PORT': 16,
    'NXM_OF_VLAN_TCI': 16,
    'NXM_OF_ETH_SRC': 48,
    'NXM_OF_ETH_DST': 48,
    'NXM_NX_TUN_ID': 64,
    'NXM_OF_ARP_OP': 16,
    'NXM_OF_ARP_SPA': 32,
    'NXM_OF_ARP_TPA': 32,
    'NXM_NX_ARP_SHA': 48,
    'NXM_NX_ARP_THA': 48,
}
FIELD_WIDTHS.update(('NXM_NX_REG%d' % i, 32) for i in range(16))

Masked = Tuple[int, int]  # (value, mask)


@dataclass(frozen=True)
class FieldRef:
    """A bit range of an NXM field, as ``NXM_OF_VLAN_TCI[0..11]``."""
    name: str
    ofs: int = 0
    n_bits: Optional[int] = None  # None: up to the end of the field

    def __post_init__(self):
        if self.n_bits is None and self.name in FIELD_WIDTHS:
            object.__setattr__(self, 'n_bits', FIELD_WIDTHS[self.name] - self.ofs)


@dataclass(frozen=True)
class Match:
    """The match fields our bridge uses, in the order ovs-ofctl prints them.

    Masked fields are (value, mask). ``dl_vlan`` is an exact VLAN id on a tagged
    packet; ``vlan_tci`` a raw TCI match, as learned flows use. ``other`` keeps fields
    read from a switch that this model does not name, as (OXM name, value as read): enough
    to print them and to delete such a flow exactly (value, or (value, mask) when masked).
    ``eth_type`` prints as ovs-ofctl's protocol word (``arp``, ``ip``); ``arp_tpa`` is the
    ARP target address the ARP responder answers for.
    """
    tun_id: Optional[Union[int, Masked]] = None
    in_port: Optional[int] = None
    vlan_tci: Optional[Union[int, Masked]] = None
    dl_vlan: Optional[int] = None
    dl_src: Optional[Union[str, Tuple[str, str]]] = None
    dl_dst: Optional[Union[str, Tuple[str, str]]] = None
    eth_type: Optional[int] = None
    arp_tpa: Optional[str] = None
    other: Tuple[Tuple[str, object], ...] = ()


# --- actions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Output:
    port: int


@dataclass(frozen=True)
class Resubmit:
    """Nicira resubmit(,TABLE): continue in another table, then come back."""
    table: int


@dataclass(frozen=True)
class ModVlanVid:
    """Tag with a VLAN id, pushing a tag if the packet has none."""
    vid: int


@dataclass(frozen=True)
class StripVlan:
    pass


@dataclass(frozen=True)
class SetTunnel:
    tun_id: int


@dataclass(frozen=True)
class Load:
    """Write an immediate value into a field range (what learned flows carry)."""
    value: int
    dst: FieldRef


@dataclass(frozen=True)
class Move:
    """Nicira move (reg_move): copy the bits of one field range into another."""
    src: FieldRef
    dst: FieldRef


# Fields a SetField may write, by OXM name (what OpenFlow 1.3 set_field carries).
SET_FIELDS = ('eth_src', 'eth_dst', 'arp_op', 'arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha')


@dataclass(frozen=True)
class SetField:
    """OpenFlow 1.3 set_field of a whole field: a MAC or IPv4 as text, else an int."""
    field: str
    value: Union[int, str]

    def __post_init__(self):
        if self.field not in SET_FIELDS:
            raise ValueError('set_field of %r is not modelled' % self.field)


@dataclass(frozen=True)
class Opaque:
    """An action read from a switch that this model does not name; kept as text."""
    text: str


@dataclass(frozen=True)
class LearnMatch:
    """learn() spec: the learned flow matches DST on the value SRC has now (or a constant)."""
    dst: FieldRef
    src: Union[FieldRef, int]


@dataclass(frozen=True)
class LearnLoad:
    """learn() spec: the learned flow loads SRC (a field's value now, or a constant) to DST."""
    dst: FieldRef
    src: Union[FieldRef, int]


@dataclass(frozen=True)
class LearnOutput:
    """learn() spec: the learned flow outputs to the port held in SRC now."""
    src: FieldRef


LearnSpec = Union[LearnMatch, LearnLoad, LearnOutput]


@dataclass(frozen=True)
class Learn:
    table: int
    specs: Tuple[LearnSpec, ...]
    priority: int = DEFAULT_PRIORITY
    cookie: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0


Action = Union[Output, Resubmit, ModVlanVid, StripVlan, SetTunnel, Load, Learn, Move,
               SetField, Opaque]


# --- flows ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Flow:
    table: int
    priority: int
    match: Match
    actions: Tuple[Action, ...]  # empty: drop
    cookie: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0
    flags: Tuple[str, ...] = ()  # e.g. ('send_flow_rem',), as ovs-ofctl prints them

    @property
    def key(self):
        """What identifies the entry inside OVS: adding a flow with the same key replaces it."""
        return (self.table, self.priority, self.match)


@dataclass(frozen=True)
class FlowStats:
    """A flow read back from a switch, with its counters."""
    flow: Flow
    duration_sec: int = 0
    duration_nsec: int = 0
    n_packets: int = 0
    n_bytes: int = 0

    @property
    def duration(self):
        return self.duration_sec + self.duration_nsec / 1e9
