"""The domain model as plain data: VPCs, VM ports, tunnel names, and a node's intent.

No oslo.config, no Ryu, no I/O. ``config`` (the file) and ``registry`` (etcd) are two
sources of the same intent; the controller core turns an ``Intent`` into flows and ports.
"""
import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

MAX_IFNAME = 15            # IFNAMSIZ - 1
TUNNEL_PREFIX = 'vxlan-'   # every br-tun port named so is a tunnel (the app relies on it)
VNI_MAX = (1 << 24) - 1
VLAN_MAX = 4094
DEAD_VLAN = 4095           # Neutron's dead VLAN: a port parked here reaches nothing
# external_ids keys we write into OVSDB, so we only ever remove or retag what we made.
TUNNEL_MARK = 'ryu-vxlan-vpc-remote'   # Port.external_ids on the tunnels we create
VNI_MARK = 'ryu-vxlan-vpc-vni'         # Port.other_config of a bound VM port: its VNI
IFACE_ID = 'iface-id'                  # Interface.external_ids set by Nova / os-vif


@dataclass(frozen=True, slots=True)
class Vpc:
    vni: int
    local_vlan: int


@dataclass(frozen=True)
class VmPort:
    """A VM port of the config file's ``vm_ports`` (bootstrap plumbs it)."""
    id: str
    vni: int
    namespace: Optional[str] = None
    address: Optional[str] = None  # CIDR, e.g. 192.168.10.11/24

    @property
    def bridge(self):
        return 'qbr' + self.id

    @property
    def ovs_port(self):
        return 'qvo' + self.id

    @property
    def bridge_port(self):
        return 'qvb' + self.id

    @property
    def tap(self):
        """Bridge-side end of the veth into the VM namespace (the article's veth1p)."""
        return 'tap' + self.id


@dataclass(frozen=True, slots=True)
class PortBinding:
    """A VM port of this node as the registry states it: br-int's port whose Interface
    carries ``external_ids:iface-id=<port_id>`` belongs to VPC ``vni``."""
    port_id: str
    vni: int
    mac: str
    ip: Optional[str] = None


@dataclass(frozen=True, slots=True)
class RemotePort:
    """A VM port on another node, in a VPC this node hosts: what l2population and the ARP
    responder program (its MAC and IP, behind the tunnel to ``remote_ip``)."""
    vni: int
    mac: str
    ip: Optional[str]
    remote_ip: str


@dataclass(frozen=True)
class Intent:
    """What one node should hold: its VPCs with their local VLANs, the remote VTEPs,
    and (registry only) the VM ports to bind and the other nodes' ports in this node's
    VPCs. Order-free: compare as sets."""
    vpcs: Tuple[Vpc, ...] = ()
    remote_ips: Tuple[str, ...] = ()
    bindings: Tuple[PortBinding, ...] = ()
    manage_ports: bool = False   # registry: the app owns tunnel ports and VM port tags
    remote_ports: Tuple[RemotePort, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, 'vpcs', tuple(sorted(set(self.vpcs), key=lambda v: v.vni)))
        object.__setattr__(self, 'remote_ips', tuple(sorted(set(self.remote_ips),
                                                            key=ipaddress.IPv4Address)))
        object.__setattr__(self, 'bindings', tuple(sorted(set(self.bindings),
                                                          key=lambda b: b.port_id)))
        object.__setattr__(self, 'remote_ports', tuple(sorted(
            set(self.remote_ports), key=lambda p: (p.vni, p.mac, p.remote_ip, p.ip or ''))))

    def vlan_of(self, vni):
        return next((v.local_vlan for v in self.vpcs if v.vni == vni), None)


def allocate_vlans(vnis, previous: Mapping[int, int]):
    """{vni: local VLAN} for ``vnis``: a VNI keeps its VLAN from ``previous``; a new one gets
    the lowest VLAN in 1..4094 not in use. VNIs beyond 4094 at once are left out (returned
    second, so the caller can say so)."""
    vlans = {vni: vlan for vni, vlan in previous.items() if vni in vnis and 1 <= vlan <= VLAN_MAX}
    used = set(vlans.values())
    if len(used) != len(vlans):  # two VNIs on one VLAN (a damaged store): keep the first
        seen, kept = set(), {}
        for vni in sorted(vlans):
            if vlans[vni] not in seen:
                kept[vni] = vlans[vni]
                seen.add(vlans[vni])
        vlans, used = kept, seen
    free = (v for v in range(1, VLAN_MAX + 1) if v not in used)
    left_out = []
    for vni in sorted(vnis):
        if vni in vlans:
            continue
        vlan = next(free, None)
        if vlan is None:
            left_out.append(vni)
        else:
            vlans[vni] = vlan
    return vlans, tuple(left_out)


def tunnel_port_name(remote_ip):
    """``vxlan-`` + the remote IPv4 in 8 hex digits: 172.21.12.8 -> vxlan-ac150c08."""
    return '%s%08x' % (TUNNEL_PREFIX, int(ipaddress.IPv4Address(remote_ip)))


def names_by_ofport(ports):
    """{ofport: port name} of a switch's {port name: ofport}."""
    return {no: name for name, no in ports.items()}


@functools.lru_cache(maxsize=4096)  # REST asks once per MAC entry: 100k times per /macs
def remote_ip_of_port(name):
    """Inverse of tunnel_port_name, or None for other names (e.g. the article's vxlan-01)."""
    m = re.match(r'^%s([0-9a-f]{8})$' % re.escape(TUNNEL_PREFIX), name)
    return str(ipaddress.IPv4Address(int(m.group(1), 16))) if m else None
