"""The two flow shapes other nodes' ports make by the thousand, as rows (flows.rows).

- ``UcastPopulated`` (table 20, priority 2): row (local VLAN, MAC, VNI, tunnel ofport):
  ``dl_vlan=VLAN,dl_dst=MAC actions=strip_vlan,set_tunnel:VNI,output:OFPORT``
  (Neutron's ``install_unicast_to_tun``).
- ``ArpAnswer`` (table 21, priority 1): row (local VLAN, IP, MAC): an ARP request for IP on
  VLAN is turned into the reply "IP is at MAC" and sent back where it came from
  (Neutron's ``install_arp_responder``).

``br_tun.ucast_to_tun`` and ``br_tun.arp_responder`` make the rows; these say what each
row's flow is, and recognise such a flow read back from a switch.
"""
from dataclasses import dataclass

from ..flows.model import (FieldRef, Flow, Match, Move, Output, SetField, SetTunnel,
                           StripVlan)
from ..flows.rows import Shape
from . import tables as t

ETH_TYPE_ARP = 0x0806
ARP_REPLY = 2
OFPP_IN_PORT = 0xfffffff8   # back out of the port it came in on (patch-int, to br-int)

ETH_SRC, ETH_DST = FieldRef('NXM_OF_ETH_SRC'), FieldRef('NXM_OF_ETH_DST')
ARP_SHA, ARP_THA = FieldRef('NXM_NX_ARP_SHA'), FieldRef('NXM_NX_ARP_THA')
ARP_SPA, ARP_TPA = FieldRef('NXM_OF_ARP_SPA'), FieldRef('NXM_OF_ARP_TPA')
# The ARP answer's actions that do not depend on the port: built once, shared by every
# answer (the objects are immutable).
ARP_TO_REPLY = (SetField('arp_op', ARP_REPLY), Move(ARP_SHA, ARP_THA), Move(ARP_SPA, ARP_TPA))
ARP_ETH_BACK = Move(ETH_SRC, ETH_DST)
ARP_OUT = Output(OFPP_IN_PORT)
_STRIP = StripVlan()


def _placed(shape, flow):
    return flow.table == shape.table and flow.priority == shape.priority


@dataclass(frozen=True)
class UcastPopulated(Shape):
    """Table 20's entry for a remote port: row (local VLAN, MAC, VNI, tunnel ofport)."""
    cookie: int
    name = 'ucast_populated'
    table = t.UCAST_TO_TUN
    priority = t.UCAST_POPULATED

    def flow(self, row):
        vlan, mac, vni, ofport = row
        return Flow(self.table, self.priority, Match(dl_vlan=vlan, dl_dst=mac),
                    (_STRIP, SetTunnel(vni), Output(ofport)), self.cookie)

    def key_of(self, flow):
        if not _placed(self, flow):
            return None
        m = flow.match
        if m.dl_vlan is None or not isinstance(m.dl_dst, str) or \
                m != Match(dl_vlan=m.dl_vlan, dl_dst=m.dl_dst):
            return None
        return (m.dl_vlan, m.dl_dst)

    def row_of(self, flow):
        key, a = self.key_of(flow), flow.actions
        if key is None or len(a) != 3 or type(a[1]) is not SetTunnel or \
                type(a[2]) is not Output:
            return None
        row = key + (a[1].tun_id, a[2].port)
        return row if self.flow(row) == flow else None


@dataclass(frozen=True)
class ArpAnswer(Shape):
    """Table 21's answer for a remote port's IP: row (local VLAN, IP, MAC)."""
    cookie: int
    name = 'arp_answer'
    table = t.ARP_RESPONDER
    priority = t.ARP_ANSWER

    def flow(self, row):
        vlan, ip, mac = row
        return Flow(self.table, self.priority,
                    Match(eth_type=ETH_TYPE_ARP, dl_vlan=vlan, arp_tpa=ip),
                    ARP_TO_REPLY + (SetField('arp_sha', mac), SetField('arp_spa', ip),
                                    ARP_ETH_BACK, SetField('eth_src', mac), ARP_OUT),
                    self.cookie)

    def key_of(self, flow):
        if not _placed(self, flow):
            return None
        m = flow.match
        if m.dl_vlan is None or not isinstance(m.arp_tpa, str) or m != Match(
                eth_type=ETH_TYPE_ARP, dl_vlan=m.dl_vlan, arp_tpa=m.arp_tpa):
            return None
        return (m.dl_vlan, m.arp_tpa)

    def row_of(self, flow):
        key, a = self.key_of(flow), flow.actions
        if key is None or len(a) != 8 or type(a[3]) is not SetField:
            return None
        row = key + (a[3].value,)
        return row if self.flow(row) == flow else None


SHAPES = (UcastPopulated, ArpAnswer)


def per_shape(makers, made, shape, what):
    """``made[shape]``, made on first use by ``makers[type(shape)](shape)`` (the row
    encoder's and the row reader's per-shape tables); ValueError for a shape none makes."""
    found = made.get(shape)
    if found is None:
        try:
            make = makers[type(shape)]
        except KeyError:
            raise ValueError('no %s for shape %r' % (what, shape)) from None
        found = made[shape] = make(shape)
    return found
