"""The br-tun pipeline as pure data: node state in, the complete list of flows out.

One function per table, each returning that table's flows. ``build`` concatenates them
in table order. Nothing here talks to a switch; ``ryu_vxlan_vpc.app`` ships the result.
"""
from dataclasses import dataclass
from typing import Tuple

from ..model import Vpc
from ..flows.model import (DEFAULT_PRIORITY, FieldRef, Flow, Learn, LearnLoad,
                           LearnMatch, LearnOutput, Match, ModVlanVid, Output, Resubmit,
                           SetTunnel, StripVlan)
from . import tables as t

UNICAST = ('00:00:00:00:00:00', '01:00:00:00:00:00')    # multicast bit clear
MULTICAST = ('01:00:00:00:00:00', '01:00:00:00:00:00')  # multicast bit set (incl. broadcast)

VLAN_TCI = FieldRef('NXM_OF_VLAN_TCI')
VLAN_VID_BITS = FieldRef('NXM_OF_VLAN_TCI', 0, 12)
ETH_SRC = FieldRef('NXM_OF_ETH_SRC')
ETH_DST = FieldRef('NXM_OF_ETH_DST')
TUN_ID = FieldRef('NXM_NX_TUN_ID')
IN_PORT = FieldRef('NXM_OF_IN_PORT')


@dataclass(frozen=True)
class BrTunState:
    """What the flows of one br-tun depend on."""
    patch_int_ofport: int
    tunnel_ofports: Tuple[int, ...]
    vpcs: Tuple[Vpc, ...]
    flow_cookie: int = 0x79
    learn_cookie: int = 0xa9eb8f9011f7e038
    learn_hard_timeout: int = 300

    def __post_init__(self):
        # Order-free: the same ports in another order are the same state.
        object.__setattr__(self, 'tunnel_ofports', tuple(sorted(set(self.tunnel_ofports))))

    @classmethod
    def of(cls, settings, patch_int_ofport, tunnel_ofports, vpcs=None):
        """The state of a node configured by ``settings`` with these port numbers; ``vpcs``
        when the intent does not come from the file (the registry)."""
        return cls(patch_int_ofport=patch_int_ofport, tunnel_ofports=tuple(tunnel_ofports),
                   vpcs=settings.vpcs if vpcs is None else tuple(vpcs),
                   flow_cookie=settings.flow_cookie,
                   learn_cookie=settings.learn_cookie,
                   learn_hard_timeout=settings.learn_hard_timeout)


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
    """Table 2: unicast looks up learned MACs (20); multicast and broadcast flood (22)."""
    return [_flow(state, t.PATCH_LV_TO_TUN, 0, [Resubmit(t.UCAST_TO_TUN)], dl_dst=UNICAST),
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
    """Table 20: holds learned flows (priority 1); a miss floods through 22."""
    return [_flow(state, t.UCAST_TO_TUN, 0, [Resubmit(t.FLOOD_TO_TUN)])]


def flood_to_tun(state):
    """Table 22: per VPC, untag, set the VNI and copy to every tunnel; else drop.

    A VPC's flood flow is left out while there is no tunnel: it would only untag and drop.
    """
    flows = []
    if state.tunnel_ofports:
        outputs = [Output(port) for port in state.tunnel_ofports]
        flows = [_flow(state, t.FLOOD_TO_TUN, DEFAULT_PRIORITY,
                       [StripVlan(), SetTunnel(vpc.vni)] + outputs, dl_vlan=vpc.local_vlan)
                 for vpc in state.vpcs]
    return flows + [_drop(state, t.FLOOD_TO_TUN)]


TABLE_BUILDERS = (local_switching, patch_lv_to_tun, gre_tun_to_lv, vxlan_tun_to_lv,
                  dvr_not_learn, learn_from_tun, ucast_to_tun, flood_to_tun)


def build(state):
    """Every flow br-tun should hold, in table order."""
    return [flow for builder in TABLE_BUILDERS for flow in builder(state)]
