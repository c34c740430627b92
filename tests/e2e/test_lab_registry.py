"""End to end on the registry: VPCs, nodes and VM ports added and removed at runtime.

A real two-node lab following a real etcd; every change is written with the fleet
functions (the `fleet` CLI's own code) and must reach real OVS flows and ports, and real
pings, with no ryu-manager restarted. The tests run in file order on one lab.
"""
import os
import re
import signal
import subprocess
import time

import pytest

from labrun import running_lab
from realenv import wait_for
from ryu_vxlan_vpc import procs
from ryu_vxlan_vpc.bootstrap.execute import read_ovs
from ryu_vxlan_vpc.bootstrap.plan import Target
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.lab import runtime
from ryu_vxlan_vpc.model import DEAD_VLAN, tunnel_port_name
from ryu_vxlan_vpc.registry import fleet

VNI, NEW_VNI, LATE_VNI = 0x22, 0x24, 0x25
C1_VM, C2_VM = '192.168.10.11', '192.168.10.12'
FOREIGN = 'vxlan-acd5fcfa'       # made by hand on compute1, to a VTEP nobody has
FOREIGN_REMOTE = '172.21.12.250'


class Fleet:
    def __init__(self, lab):
        self.lab = lab

    @property
    def rec(self):
        return self.lab.load()

    def node(self, name):
        return self.lab.node(self.rec, name)

    def ovs(self, name):
        return self.lab.ovs(self.node(name))

    def flows(self, name, *args):
        return text.parse_dump(self.ovs(name).ofctl('dump-flows', 'br-tun', *args))

    def ports(self, name):
        return read_ovs(Target.make(db=self.ovs(name).db))[1]

    def register(self, func, *args, **kwargs):
        return runtime.register(self.rec, func, *args, **kwargs)

    def ryu_pids(self):
        return {n['name']: n['ryu']['pid'] for n in self.rec['nodes']}


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory, nodes=2) as lab:
        f = Fleet(lab)
        f.ovs('compute1').vsctl('add-port', 'br-tun', FOREIGN, '--', 'set', 'interface',
                                FOREIGN, 'type=vxlan', 'options:remote_ip=' + FOREIGN_REMOTE,
                                'options:in_key=flow', 'options:out_key=flow')
        f.pids = f.ryu_pids()
        yield f


class Pinger:
    """A continuous ping (20 per second) in the background; .result() waits for it."""

    def __init__(self, netns, dst, seconds):
        self.count = int(seconds * 20)
        self.proc = subprocess.Popen(['ip', 'netns', 'exec', netns, 'ping', '-n', '-i', '0.05',
                                      '-W', '1', '-c', str(self.count), dst],
                                     stdout=subprocess.PIPE, text=True)

    def result(self):
        out = self.proc.communicate(timeout=120)[0]
        m = re.search(r'(\d+) packets transmitted, (\d+) received', out)
        return int(m.group(1)), int(m.group(2))


def ping(netns, dst, count=20):
    out = subprocess.run(['ip', 'netns', 'exec', netns, 'ping', '-n', '-i', '0.05', '-W', '1',
                          '-c', str(count), dst], capture_output=True, text=True).stdout
    m = re.search(r'(\d+) packets transmitted, (\d+) received', out)
    return int(m.group(2))


def vm_ns(lab, name, vni):
    return next(vm['namespace'] for vm in lab.node(name)['vms'] if vm['vni'] == vni)


def vpc_flows(lab, name, vni, vlan):
    """The br-tun flows of one VPC: its table-4 entry, flood list, unicast and ARP rows."""
    return sorted(f for f in lab.flows(name) if 'tun_id=%#x ' % vni in f or
                  'dl_vlan=%d,' % vlan in f or 'dl_vlan=%d ' % vlan in f)


def test_vpc_added_at_runtime_pings_within_and_not_across(lab):
    before = {name: vpc_flows(lab, name, VNI, 1) for name in ('compute1', 'compute2')}
    assert all(len(flows) >= 3 for flows in before.values()), before
    pinger = Pinger(vm_ns(lab, 'compute1', VNI), C2_VM, 8)
    time.sleep(1)
    t0 = time.monotonic()
    lab.register(fleet.add_vpc, '%#x' % NEW_VNI, name='green')
    a, _ = lab.lab.add_vm('compute1', NEW_VNI, '192.168.10.21/24')
    b, _ = lab.lab.add_vm('compute2', NEW_VNI, '192.168.10.22/24')
    for name in ('compute1', 'compute2'):
        wait_for(lambda: any('tun_id=%#x ' % NEW_VNI in f for f in lab.flows(name, 'table=4')),
                 5, 'VNI %#x in table 4 of %s' % (NEW_VNI, name), interval=0.05)
    print('VPC %#x live on both nodes %.2f s after the first write' % (NEW_VNI,
                                                                       time.monotonic() - t0))
    wait_for(lambda: ping(a['namespace'], '192.168.10.22', 1), 10, 'a first reply in %#x'
             % NEW_VNI, interval=0)
    assert ping(a['namespace'], '192.168.10.22', 20) == 20
    # Same subnet, other VNI: the VM of 0x22 on compute2 is out of reach.
    assert ping(a['namespace'], C2_VM, 3) == 0
    sent, got = pinger.result()
    # Not one of 0x22's flows changed on either node (the controller only added 0x24's).
    assert {name: vpc_flows(lab, name, VNI, 1) for name in before} == before
    # At most one ping: userspace OVS has been seen to drop one packet (in 2 of 4 CI runs,
    # icmp_seq 22, as the new VM's port joined compute1's br-int) while the controller
    # changed no 0x22 flow and no 0x22 port.
    assert sent == pinger.count and got >= sent - 1, \
        'continuous ping in 0x22 lost %d' % (sent - got)
    assert lab.ryu_pids() == lab.pids


def test_third_node_joins_and_pings_compute1(lab):
    pids = lab.ryu_pids()
    node = lab.lab.add_node()
    vtep = node['vtep']
    for name in ('compute1', 'compute2'):
        wait_for(lambda: tunnel_port_name(vtep) in lab.ports(name), 5,
                 'the tunnel to %s on %s' % (vtep, name), interval=0.05)
    vm, _ = lab.lab.add_vm('compute3', VNI, '192.168.10.13/24')
    wait_for(lambda: ping(vm['namespace'], C1_VM, 1), 15, 'a first reply from compute1',
             interval=0)
    assert ping(vm['namespace'], C1_VM, 20) == 20
    assert {k: v for k, v in lab.ryu_pids().items() if k in pids} == pids


def test_node_removed_leaves_no_tunnel_or_flow_behind(lab):
    vtep = lab.node('compute3')['vtep']
    ofports = {n: lab.ovs(n).ofport(tunnel_port_name(vtep)) for n in ('compute1', 'compute2')}
    t0 = time.monotonic()
    lab.lab.remove_node('compute3')
    for name, ofport in ofports.items():
        def gone():
            flows = lab.flows(name)
            return (tunnel_port_name(vtep) not in lab.ports(name)
                    and not any('in_port=%d ' % ofport in f or 'output:%d' % ofport in f
                                for f in flows))
        wait_for(gone, 2, 'tunnel %s and its flows gone from %s' % (tunnel_port_name(vtep),
                                                                  name), interval=0.05)
    print('compute3 gone from both nodes after %.2f s' % (time.monotonic() - t0))
    assert lab.ryu_pids() == lab.pids


def test_vpc_removed_leaves_no_flow_and_parks_its_ports(lab):
    lab.register(fleet.remove_vpc, '%#x' % NEW_VNI, force=True)
    for name in ('compute1', 'compute2'):
        wait_for(lambda: not any('%#x' % NEW_VNI in f for f in lab.flows(name)), 5,
                 'no flow of VNI %#x on %s' % (NEW_VNI, name), interval=0.05)
        qvo = 'qvo' + next(vm['id'] for vm in lab.node(name)['vms'] if vm['vni'] == NEW_VNI)
        wait_for(lambda: lab.ports(name)[qvo].tag == DEAD_VLAN, 5,
                 '%s on the dead VLAN' % qvo, interval=0.05)
    assert ping(vm_ns(lab, 'compute1', VNI), C2_VM, 3) == 3   # 0x22 untouched


def test_etcd_down_loses_no_ping_and_a_later_vpc_applies(lab):
    rec = lab.rec
    pinger = Pinger(vm_ns(lab, 'compute1', VNI), C2_VM, 14)
    time.sleep(1)
    os.kill(rec['registry']['pid'], signal.SIGKILL)
    wait_for(lambda: not procs.alive(rec['registry']['pid'], rec['registry']['started']), 5,
             'etcd to die')
    time.sleep(10)
    runtime.restart_registry(lab.lab, lab.rec)
    sent, got = pinger.result()
    assert sent == got == pinger.count, 'ping lost %d while etcd was down' % (sent - got)
    t0 = time.monotonic()
    lab.register(fleet.add_vpc, '%#x' % LATE_VNI)
    for name in ('compute1', 'compute2'):
        lab.register(fleet.add_port, name, '%s-late' % name, '%#x' % LATE_VNI,
                     'fa:16:3e:00:25:0%s' % name[-1])
    for name in ('compute1', 'compute2'):
        wait_for(lambda: any('tun_id=%#x ' % LATE_VNI in f for f in lab.flows(name, 'table=4')),
                 5, 'VNI %#x on %s after etcd came back' % (LATE_VNI, name), interval=0.05)
    print('VPC added after the outage live on both nodes after %.2f s'
          % (time.monotonic() - t0))
    assert lab.ryu_pids() == lab.pids


def test_foreign_tunnel_port_survived_everything(lab):
    port = lab.ports('compute1')[FOREIGN]
    assert port.bridge == 'br-tun' and dict(port.options)['remote_ip'] == FOREIGN_REMOTE


def test_controller_restart_with_unchanged_registry_changes_nothing(lab):
    node = lab.node('compute2')

    def snapshot():
        flows = sorted(re.sub(r'duration=[^,]*, |n_packets=\d+, |n_bytes=\d+, |idle_age=\d+, |'
                              r'hard_age=\d+, ', '', f)
                       for f in lab.flows('compute2', 'cookie=0x79/-1'))
        ports = {n: (p.tag, p.other_config, p.external_ids)
                 for n, p in lab.ports('compute2').items()}
        return flows, ports
    before = snapshot()
    log_before = open(node['ryu']['log']).read()
    procs.stop(node['ryu']['pid'], node['ryu']['started'])
    lab.lab.restart_ryu('compute2')
    wait_for(lambda: 'pipeline in sync' in open(node['ryu']['log']).read()[len(log_before):],
             30, 'the restarted controller to sync')
    new_log = open(node['ryu']['log']).read()[len(log_before):]
    assert '0 added, 0 removed' in new_log, new_log
    assert not re.search(r'OVSDB: (VM port|tunnel)', new_log), new_log
    assert snapshot() == before
