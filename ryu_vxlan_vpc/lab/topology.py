"""Pure: which nodes, namespaces, addresses and configs a lab of N compute nodes has.

Nodes 1 and 2 are the article's compute1 / compute2 (their configs come from
etc/ryu_vxlan_vpc/compute{1,2}.conf when given); further nodes are generated the same
way: VTEP 172.21.12.(10+i), VPC VNI 0x22 on local VLAN 10*i+2, VM 192.168.10.(10+i).
Every node reaches every other (full mesh). With ``second_vpc`` each node also gets a VM
in VNI 0x23 (local VLAN 10*i+3, address 192.168.10.(110+i)), to show VPC isolation.
"""
import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ..config import ConfigError, Settings, VmPort, Vpc

MAX_NODES = 32
VPC_VNI = 0x22
SECOND_VNI = 0x23
VTEP_PREFIX_LEN = 24
ARTICLE_VTEPS = {1: '172.21.12.163', 2: '172.21.12.8'}
UNDERLAY_NETNS = 'underlay'
UNDERLAY_BRIDGE = 'br-underlay'
NODE_NIC = 'eth0'          # the node's "physical" NIC, a port of its br-phy
PHY_BRIDGE = 'br-phy'      # userspace VXLAN: the VTEP address lives on br-phy
UNDERLAY_MTU = 1600        # room for 1500-byte VM frames plus VXLAN's 50 bytes
# The control plane (etcd) has its own network, as a cloud's management network is apart
# from its tunnel network; it also keeps TCP off the userspace br-phy, whose tap port
# hands the kernel's unfinished TCP checksums on as they are.
MGMT_NIC = 'mgmt0'
MGMT_PREFIX_LEN = 24
ETCD_MGMT_IP = '172.21.0.2'


def mgmt_ip(index):
    return '172.21.0.%d' % (10 + index)
_PREFIX_RE = re.compile(r'^[a-z0-9-]{0,24}$')


class TopologyError(ValueError):
    pass


@dataclass(frozen=True)
class Vm:
    namespace: str
    address: str      # CIDR
    vni: int
    node: str

    @property
    def ip(self):
        return self.address.split('/')[0]


@dataclass(frozen=True)
class Node:
    index: int
    name: str              # compute1
    netns: str             # prefix + compute1
    vtep: str
    settings: Settings
    source: Optional[str]  # the etc file it came from, or None when generated

    @property
    def uplink(self):
        """The underlay namespace's end of this node's veth."""
        return self.name

    def vms(self):
        return tuple(Vm(p.namespace, p.address, p.vni, self.name)
                     for p in self.settings.vm_ports if p.namespace)


@dataclass(frozen=True)
class Topology:
    prefix: str
    nodes: Tuple[Node, ...]

    @property
    def underlay_netns(self):
        return self.prefix + UNDERLAY_NETNS

    def namespaces(self):
        """Every namespace of the lab, in creation order."""
        names = [self.underlay_netns] + [n.netns for n in self.nodes]
        return names + [vm.namespace for n in self.nodes for vm in n.vms()]

    def vms(self):
        return tuple(vm for n in self.nodes for vm in n.vms())


def vtep_of(index):
    return ARTICLE_VTEPS.get(index, '172.21.12.%d' % (10 + index))


def local_vlan(index, vni):
    return 10 * index + (2 if vni == VPC_VNI else 3)


def vm_address(index, vni):
    return '192.168.10.%d/24' % ((10 if vni == VPC_VNI else 110) + index)


def generated_settings(index):
    """Node ``index`` without an etc file (remote_ips are filled in by build())."""
    return Settings(
        local_ip=vtep_of(index), remote_ips=(),
        vpcs=(Vpc(VPC_VNI, local_vlan(index, VPC_VNI)),),
        datapath_type='netdev', controller='tcp:127.0.0.1:6633',
        vm_ports=(VmPort('123', VPC_VNI, 'c%d-test' % index, vm_address(index, VPC_VNI)),))


def build(count, prefix='', base=None, second_vpc=False):
    """The lab's topology. ``base``: {index: (Settings, source path)} for etc configs."""
    if not 2 <= count <= MAX_NODES:
        raise TopologyError('--nodes %d: a lab has 2..%d nodes' % (count, MAX_NODES))
    if not _PREFIX_RE.match(prefix):
        raise TopologyError('--prefix %r: up to 24 of a-z, 0-9 and "-"' % prefix)
    base = base or {}
    raw = []
    for i in range(1, count + 1):
        settings, source = base.get(i, (generated_settings(i), None))
        raw.append((i, settings, source))
    vteps = [s.local_ip for _, s, _ in raw]
    net = ipaddress.IPv4Interface('%s/%d' % (vteps[0], VTEP_PREFIX_LEN)).network
    for (i, s, source), ip in zip(raw, vteps):
        if vteps.count(ip) > 1 or ipaddress.IPv4Address(ip) not in net:
            why = 'node %d (%s): the lab needs distinct VTEPs in one /%d' % (
                i, source or 'generated', VTEP_PREFIX_LEN)
            raise ConfigError('local_ip', ip, why)
    nodes = []
    for i, s, source in raw:
        vm_ports = tuple(dataclasses.replace(p, namespace=prefix + p.namespace)
                         if p.namespace else p for p in s.vm_ports)
        vpcs = s.vpcs
        if second_vpc:
            vpcs += (Vpc(SECOND_VNI, local_vlan(i, SECOND_VNI)),)
            vm_ports += (VmPort('456', SECOND_VNI, '%sc%d-vpc2' % (prefix, i),
                                vm_address(i, SECOND_VNI)),)
        settings = dataclasses.replace(
            s, remote_ips=tuple(ip for ip in vteps if ip != s.local_ip), vpcs=vpcs,
            vm_ports=vm_ports, datapath_type='netdev', node_name='compute%d' % i)
        nodes.append(Node(i, 'compute%d' % i, prefix + 'compute%d' % i, s.local_ip,
                          settings, source))
    topo = Topology(prefix, tuple(nodes))
    names = topo.namespaces()
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise TopologyError('namespace names used twice: %s' % ', '.join(dup))
    return topo


def render_config(settings, comment=''):
    """A [vxlan_vpc] file holding every option of ``settings`` (config.load_file reads it)."""
    s = settings
    lines = ['# ' + line for line in comment.splitlines()] + ['[vxlan_vpc]',
                                                             'local_ip = %s' % s.local_ip]
    if s.registry:  # the registry holds VPCs, nodes and VM ports
        lines += ['etcd_endpoints = %s' % ','.join(s.etcd_endpoints)]
    else:
        lines += ['remote_ips = %s' % ', '.join(s.remote_ips),
                  'vpcs = %s' % ', '.join('%#x:%d' % (v.vni, v.local_vlan) for v in s.vpcs)]
    lines += [
        'registry_prefix = %s' % s.registry_prefix,
        'node_name = %s' % s.node_name,
        'ovsdb_connection = %s' % s.ovsdb_connection,
        'ovsdb_poll_interval = %s' % s.ovsdb_poll_interval,
        'tun_bridge = %s' % s.tun_bridge,
        'int_bridge = %s' % s.int_bridge,
        'patch_int_port = %s' % s.patch_int_port,
        'patch_tun_port = %s' % s.patch_tun_port,
        'vxlan_udp_port = %d' % s.vxlan_udp_port,
        'learn_hard_timeout = %d' % s.learn_hard_timeout,
        'flow_cookie = %#x' % s.flow_cookie,
        'learn_cookie = %#x' % s.learn_cookie,
        'controller = %s' % s.controller,
        'datapath_type = %s' % s.datapath_type,
    ]
    if not s.registry:
        lines.append('vm_ports = %s' % ', '.join(
            ':'.join([p.id, '%#x' % p.vni] + ([p.namespace, p.address] if p.namespace else []))
            for p in s.vm_ports))
    return '\n'.join(lines) + '\n'


def controller_endpoint(settings):
    """(host, port) ryu-manager must listen on for the node's ``controller`` option."""
    m = re.match(r'^tcp:([0-9.]+):([0-9]+)$', settings.controller)
    if not m:
        raise ConfigError('controller', settings.controller,
                          'the lab starts ryu-manager on a tcp:IP:PORT controller only')
    return m.group(1), int(m.group(2))
