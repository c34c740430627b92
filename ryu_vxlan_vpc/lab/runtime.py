"""The lab's fleet: its etcd, and nodes and VMs added and removed while it runs.

Everything the lab registers goes through the same functions as ``ryu-vxlan-vpc fleet``
(``registry.fleet``), talking to the lab's etcd from inside its namespace. As everywhere
in the lab, each thing is written to the record before it is made, so ``lab down``
removes it even after a failure halfway.
"""
import contextlib
import ipaddress
import os

from .. import procs
from ..bootstrap import apply
from ..bootstrap.plan import Plan, Target, vm_port_removal_steps, vm_port_steps
from ..etcd_instance import EtcdInstance
from ..model import DEAD_VLAN, VmPort
from ..netns import inside_netns
from ..registry import fleet
from ..registry.etcd import Registry
from ..registry.records import parse_fleet
from .common import LabError, wait
from .topology import ETCD_MGMT_IP, MGMT_PREFIX_LEN

ETCD_NETNS = 'etcd'
ETCD_IP = ETCD_MGMT_IP       # on the lab's management network
ETCD_ENDPOINT = '%s:2379' % ETCD_IP
PREFIX = '/ryu-vxlan-vpc'
ETCD_TIMEOUT = 20.0
DEFAULT_VM_NET = '192.168.10.0/24'


def etcd_of(rec):
    reg = rec['registry']
    return EtcdInstance(reg['data_dir'], reg['netns'], reg['ip'])


def start_registry(lab, rec):
    """etcd in namespace <prefix>etcd, joined to the underlay bridge like a node."""
    netns = rec['prefix'] + ETCD_NETNS
    data_dir = os.path.join(lab.state_dir, 'etcd')
    rec['registry'] = {'netns': netns, 'ip': ETCD_IP, 'data_dir': data_dir,
                       'log': os.path.join(lab.state_dir, 'etcd.log'), 'pid': None,
                       'prefix': PREFIX}
    rec['paths'].append(data_dir)
    rec['paths'].append(rec['registry']['log'])
    lab.add_netns(rec, netns)
    lab.link_to_underlay(rec, netns, ETCD_NETNS, address='%s/%d' % (ETCD_IP, MGMT_PREFIX_LEN))
    _start_etcd(lab, rec)


def restart_registry(lab, rec):
    """etcd again on its data (after a crash), as a service manager would restart it."""
    reg = rec['registry']
    if reg.get('pid') and procs.alive(reg['pid'], reg.get('started')):
        raise LabError('etcd (pid %d) is still running' % reg['pid'], 2)
    _start_etcd(lab, rec)


def _start_etcd(lab, rec):
    etcd = etcd_of(rec)
    pid, started = etcd.start(rec['registry']['log'])
    rec['registry'].update(pid=pid, started=started, endpoint=etcd.endpoint)
    lab.save(rec)
    netns = rec['registry']['netns']

    def ready():
        if not procs.alive(pid, started):
            raise LabError('etcd exited; last lines of %s:\n%s'
                            % (rec['registry']['log'], procs.tail(rec['registry']['log'])))
        return etcd.healthy()
    wait(ready, ETCD_TIMEOUT, 'etcd in %s to answer /health' % netns)


@contextlib.contextmanager
def registry(rec):
    """The lab's registry, reached from inside etcd's namespace (no route from here)."""
    reg = rec['registry']
    with inside_netns(reg['netns']):
        yield Registry('127.0.0.1:2379', reg['prefix'])


def register(rec, func, *args, **kwargs):
    """One ``registry.fleet`` operation on the lab's etcd; returns what it says."""
    with registry(rec) as reg:
        return func(reg, *args, **kwargs)


# --- VMs ---------------------------------------------------------------------------------

def _next(rec, counter):
    rec[counter] = rec.get(counter, 0) + 1
    return rec[counter]


def add_vm(lab, rec, node_rec, vni, namespace=None, address=None, dev_id=None, out=None,
           mac=None):
    """A VM namespace on ``node_rec`` plumbed as Nova + os-vif do (its qvo port carries
    ``iface-id`` and waits on the dead VLAN), then registered with ``fleet port add``.
    ``mac`` (default: a new one) lets a VM keep its MAC when it moves to another node."""
    n = _next(rec, 'vm_count')
    dev_id = dev_id or 'v%d' % n
    namespace = namespace or '%sc%d-%s' % (rec['prefix'], node_rec['index'], dev_id)
    address = address or default_address(rec, vni, n)
    mac = mac or 'fa:16:3e:00:%02x:%02x' % (n >> 8 & 0xff, n & 0xff)
    port_id = '%s-%s' % (node_rec['name'], dev_id)
    vm = {'namespace': namespace, 'address': address, 'vni': vni, 'node': node_rec['name'],
          'id': dev_id, 'port_id': port_id, 'mac': mac}
    if any(v['namespace'] == namespace for n_ in rec['nodes'] for v in n_['vms']):
        raise LabError('a VM namespace %s is already in the lab' % namespace, 2)
    node_rec['vms'].append(vm)
    rec['namespaces'].append(namespace)
    lab.save(rec)
    settings = lab.node_settings(node_rec)
    target = Target.make(db=lab.ovs(node_rec).db, netns=node_rec['netns'])
    port = VmPort(dev_id, vni, namespace, address)
    steps = vm_port_steps(settings, target, port, DEAD_VLAN, iface_id=port_id, mac=mac)
    apply(Plan(tuple(steps), (namespace,)), target, 'add-vm', out=out or (lambda line: None))
    said = register(rec, fleet.add_port, node_rec['name'], port_id, '%#x' % vni, mac,
                    address.split('/')[0])
    return vm, said


def default_address(rec, vni, n):
    """Host 20 + n of the VPC's CIDR when the registry gives one, else of the lab's
    192.168.10.0/24 (every VPC may use the same addresses: the VNI keeps them apart)."""
    vpc = register(rec, lambda reg: parse_fleet(reg.prefix, reg.read_all()[0])[0]).vpcs.get(vni)
    net = ipaddress.IPv4Network(vpc.cidr if vpc is not None and vpc.cidr else DEFAULT_VM_NET)
    hosts = net.num_addresses - 2
    if hosts < 1:
        raise LabError('VPC %#x: CIDR %s has no room for a VM' % (vni, net), 2)
    return '%s/%d' % (net.network_address + 1 + (19 + n) % hosts, net.prefixlen)


def find_vm(rec, name):
    """(node record, VM record) by VM namespace or port id, or (None, None)."""
    for node_rec in rec['nodes']:
        for vm in node_rec['vms']:
            if name in (vm['namespace'], vm.get('port_id')):
                return node_rec, vm
    return None, None


def remove_vm(lab, rec, node_rec, vm, out=None):
    """``fleet port remove`` first (the port goes dead at once), then the plumbing."""
    said = None
    if vm.get('port_id'):
        said = register(rec, fleet.remove_port, node_rec['name'], vm['port_id'])
    settings = lab.node_settings(node_rec)
    target = Target.make(db=lab.ovs(node_rec).db, netns=node_rec['netns'])
    port = VmPort(vm['id'], vm['vni'], vm['namespace'], vm['address'])
    apply(Plan(tuple(vm_port_removal_steps(settings, target, port)), (vm['namespace'],)),
          target, 'remove-vm', out=out or (lambda line: None))
    node_rec['vms'].remove(vm)
    lab.save(rec)
    return said
