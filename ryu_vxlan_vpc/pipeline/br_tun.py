"""The br-tun pipeline as pure data: node state in, the complete list of flows out.

One function per table, each returning that table's flows; the thousands of entries that
other nodes' ports make in tables 20 and 21 come as rows of one shape each (``populated``,
``flows.rows``). ``build`` concatenates them in table order. Nothing here talks to a
switch; ``ryu_vxlan_vpc.app`` ships the result.

With ``l2_population`` the registry's remote ports decide each VPC's flood list (only the
tunnels to nodes hosting one of its ports) and get unicast entries in table 20 (Neutron's
``install_unicast_to_tun``); with ``arp_responder`` table 21 answers ARP requests for
their IPs in place (Neutron's ``install_arp_responder``). With l2population a tunnel
whose BFD session is down (``down_tunnels``) leaves the flood lists until it is back:
copies sent into it would be lost anyway.
"""
import functools
from dataclasses import dataclass
from typing import NamedTuple, Optional, Tuple

from ..model import Vpc
from ..flows.model import (DEFAULT_PRIORITY, FieldRef, Flow, Learn, LearnLoad,
                           LearnMatch, LearnOutput, Match, ModVlanVid, Output,
                           Resubmit, SetTunnel, StripVlan)
from ..flows.rows import FlowRows, expand
from . import tables as t
from .populated import ETH_DST, ETH_SRC, ETH_TYPE_ARP, ArpAnswer, UcastPopulated

UNICAST = ('00:00:00:00:00:00', '01:00:00:00:00:00')    # multicast bit clear
MULTICAST = ('01:00:00:00:00:00', '01:00:00:00:00:00')  # multicast bit set (incl. broadcast)
BROADCAST = 'ff:ff:ff:ff:ff:ff'

VLAN_TCI = FieldRef('NXM_OF_VLAN_TCI')
VLAN_VID_BITS = FieldRef('NXM_OF_VLAN_TCI', 0, 12)
TUN_ID = FieldRef('NXM_NX_TUN_ID')
IN_PORT = FieldRef('NXM_OF_IN_PORT')


class RemoteRoute(NamedTuple):
    """A remote VM port behind the tunnel ``ofport`` (from the registry's records). A
    named tuple: a node may have 50k of them, made, hashed and sorted at every sync."""
    vni: int
    mac: str
    ip: Optional[str]
    ofport: int


@dataclass(frozen=True)
class BrTunState:
    """What the flows of one br-tun depend on."""
    patch_int_ofport: int
    tunnel_ofports: Tuple[int, ...]
    vpcs: Tuple[Vpc, ...]
    flow_cookie: int = 0x79
    learn_cookie: int = 0xa9eb8f9011f7e038
    learn_hard_timeout: int = 300
    l2_population: bool = False
    arp_responder: bool = False
    remote_ports: Tuple[RemoteRoute, ...] = ()   # only read with the two options above
    down_tunnels: Tuple[int, ...] = ()   # ofports whose BFD says down (l2population only)

    def __post_init__(self):
        # Order-free: the same ports in another order are the same state.
        object.__setattr__(self, 'tunnel_ofports', tuple(sorted(set(self.tunnel_ofports))))
        object.__setattr__(self, 'down_tunnels', tuple(sorted(set(self.down_tunnels))))
        # Deduplicated in order (not through a set): the intent's ports come sorted by
        # VNI and MAC already, and sorting nearly sorted routes takes one pass.
        object.__setattr__(self, 'remote_ports', tuple(sorted(
            dict.fromkeys(self.remote_ports), key=lambda r: (r.vni, r.mac, r.ofport, r.ip or ''))))

    @classmethod
    def of(cls, settings, patch_int_ofport, tunnel_ofports, vpcs=None, remote_ports=(),
           down_tunnels=()):
        """The state of a node configured by ``settings`` with these port numbers; ``vpcs``
        and ``remote_ports`` when the intent comes from the registry; ``down_tunnels``
        the tunnels BFD reports down."""
        return cls(patch_int_ofport=patch_int_ofport, tunnel_ofports=tuple(tunnel_ofports),
                   vpcs=settings.vpcs if vpcs is None else tuple(vpcs),
                   flow_cookie=settings.flow_cookie,
                   learn_cookie=settings.learn_cookie,
                   learn_hard_timeout=settings.learn_hard_timeout,
                   l2_population=settings.l2_population,
                   arp_responder=settings.arp_responder,
                   remote_ports=tuple(remote_ports), down_tunnels=tuple(down_tunnels))

    def flood_ofports(self, vni):
        """The tunnels a VPC floods to: all, or with l2population the ones to nodes that
        host a port of it, less those BFD reports down. (Without l2population the
        article's pipeline stays as it is.)"""
        if not self.l2_population:
            return self.tunnel_ofports
        return self._flood_lists.get(vni, ())

    @functools.cached_property
    def _flood_lists(self):
        """{VNI: flood ofports} in one pass over the remote ports (asking per VPC would
        read all 100k ports once for each of 4000 VPCs)."""
        down, lists = set(self.down_tunnels), {}
        for r in self.remote_ports:
            if r.ofport not in down:
                lists.setdefault(r.vni, set()).add(r.ofport)
        return {vni: tuple(sorted(ports)) for vni, ports in lists.items()}

    def routes(self):
        """Remote ports of this node's VPCs, as (VPC, route), in the remote ports' order
        (by VNI and MAC). Made anew for each of the two tables that read them: a list of
        50k pairs would be MiBs for the length of a sync."""
        vpcs = {vpc.vni: vpc for vpc in self.vpcs}
        return ((vpcs[r.vni], r) for r in self.remote_ports if r.vni in vpcs)


def _flow(state, table, priority, actions, **match):
    return Flow(table=table, priority=priority, match=Match(**match),
                actions=tuple(actions), cookie=state.flow_cookie)


def _drop(state, table):
    return _flow(state, table, 0, ())


def local_switching(state):
    """Table 0: traffic from br-int goes to 2, traffic from any tunnel to 4, rest dropped."""
    flows = [_flow(state, t.LOCAL_SWITCHING, 1, [Resubmit(t.PATCH_LV_TO_TUN)],
                   in_port=state.patch_int_ofport)]
    flows += [_flow(state, t.LOCAL_SWITCHING, 1, [Resubmit(t.VXLAN_TUN_TO_LV)], in_port=port)
              for port in state.tunnel_ofports]
    return flows + [_drop(state, t.LOCAL_SWITCHING)]


def patch_lv_to_tun(state):
    """Table 2: unicast looks up learned MACs (20); multicast and broadcast flood (22);
    with the ARP responder, broadcast ARP asks table 21 first."""
    flows = []
    if state.arp_responder:
        flows.append(_flow(state, t.PATCH_LV_TO_TUN, t.ARP_TO_RESPONDER,
                           [Resubmit(t.ARP_RESPONDER)], eth_type=ETH_TYPE_ARP,
                           dl_dst=BROADCAST))
    return flows + [
        _flow(state, t.PATCH_LV_TO_TUN, 0, [Resubmit(t.UCAST_TO_TUN)], dl_dst=UNICAST),
        _flow(state, t.PATCH_LV_TO_TUN, 0, [Resubmit(t.FLOOD_TO_TUN)], dl_dst=MULTICAST)]


def gre_tun_to_lv(state):
    """Table 3: no GRE tunnels in this design."""
    return [_drop(state, t.GRE_TUN_TO_LV)]


def vxlan_tun_to_lv(state):
    """Table 4: a known VNI gets its local VLAN and goes on to learning; others dropped."""
    flows = [_flow(state, t.VXLAN_TUN_TO_LV, 1,
                   [ModVlanVid(vpc.local_vlan), Resubmit(t.LEARN_FROM_TUN)], tun_id=vpc.vni)
             for vpc in state.vpcs]
    return flows + [_drop(state, t.VXLAN_TUN_TO_LV)]


def dvr_not_learn(state):
    """Table 6: no DVR in this design."""
    return [_drop(state, t.DVR_NOT_LEARN)]


def learn_from_tun(state):
    """Table 10: learn "MAC on this local VLAN is behind this tunnel, on this VNI" into 20.

    The learned flow matches the local VLAN id and dl_dst = this packet's source MAC, and
    untags, sets the VNI and outputs to the tunnel the packet came in on.
    """
    learn = Learn(table=t.UCAST_TO_TUN, priority=1, cookie=state.learn_cookie,
                  hard_timeout=state.learn_hard_timeout,
                  specs=(LearnMatch(VLAN_VID_BITS, VLAN_VID_BITS),
                         LearnMatch(ETH_DST, ETH_SRC),
                         LearnLoad(VLAN_TCI, 0),
                         LearnLoad(TUN_ID, TUN_ID),
                         LearnOutput(IN_PORT)))
    return [_flow(state, t.LEARN_FROM_TUN, 1, [learn, Output(state.patch_int_ofport)])]


def ucast_to_tun(state):
    """Table 20: l2population's entries for remote ports (priority 2, as rows: see
    ``populated.UcastPopulated``), learned flows (priority 1, written by table 10); a miss
    floods through 22."""
    flows = []
    if state.l2_population:
        # The first route of each (VNI, MAC) makes the entry (a MAC claimed by two ports of
        # one VPC); the routes come sorted by VNI and MAC, so a VNI's MAC's are adjacent.
        rows, last_vni, last_mac = [], None, None
        for vpc, (vni, mac, _, ofport) in state.routes():
            if mac != last_mac or vni != last_vni:
                rows.append((vpc.local_vlan, mac, vni, ofport))
                last_vni, last_mac = vni, mac
        flows.append(FlowRows(UcastPopulated(state.flow_cookie), tuple(rows)))
    return flows + [_flow(state, t.UCAST_TO_TUN, 0, [Resubmit(t.FLOOD_TO_TUN)])]


def arp_responder(state):
    """Table 21: an ARP request for a remote port's IP is answered in place with its MAC,
    only within the asking VPC (its local VLAN); anything else goes on to 22.

    The request becomes the reply: opcode 2, the sender's addresses become the target's,
    the port's MAC and IP become the sender's, the Ethernet source becomes the
    destination and the port's MAC the source; out of the port it came in on (as rows:
    see ``populated.ArpAnswer``).
    """
    if not state.arp_responder:
        return []
    rows = {}   # the first route of each (VNI, IP) makes the answer
    for vpc, (vni, mac, ip, _) in state.routes():
        if ip is not None:
            rows.setdefault((vni, ip), (vpc.local_vlan, ip, mac))
    return [FlowRows(ArpAnswer(state.flow_cookie), tuple(rows.values())),
            _flow(state, t.ARP_RESPONDER, 0, [Resubmit(t.FLOOD_TO_TUN)])]


def flood_to_tun(state):
    """Table 22: per VPC, untag, set the VNI and copy to its tunnels; else drop.

    A VPC's flood flow is left out while it has no tunnel to flood to (none at all, or
    with l2population no other node hosting one of its ports): it would only untag and
    drop.
    """
    flows = []
    for vpc in state.vpcs:
        outputs = [Output(port) for port in state.flood_ofports(vpc.vni)]
        if outputs:
            flows.append(_flow(state, t.FLOOD_TO_TUN, DEFAULT_PRIORITY,
                               [StripVlan(), SetTunnel(vpc.vni)] + outputs,
                               dl_vlan=vpc.local_vlan))
    return flows + [_drop(state, t.FLOOD_TO_TUN)]


TABLE_BUILDERS = (local_switching, patch_lv_to_tun, gre_tun_to_lv, vxlan_tun_to_lv,
                  dvr_not_learn, learn_from_tun, ucast_to_tun, arp_responder, flood_to_tun)


def build_rows(state):
    """Every flow br-tun should hold, in table order; the bulk of tables 20 and 21 as
    FlowRows (what the sync plans and sends)."""
    return [flow for builder in TABLE_BUILDERS for flow in builder(state)]


def build(state):
    """Every flow br-tun should hold, in table order, as Flows."""
    return expand(build_rows(state))
