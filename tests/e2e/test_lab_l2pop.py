"""End to end: l2population and the ARP responder on a real three-node lab.

The lab follows its etcd registry (both options on, their default there). Packets are
counted on the underlay with a raw capture on each node's NIC (``underlay.Capture``):
what crosses between nodes is exactly what these features are meant to cut down.
The tests run in file order on one lab.
"""
import socket
import struct
import subprocess
import time

import pytest

from labrun import running_lab, vm_mac
from realenv import wait_for
from test_lab_registry import Fleet, Pinger, ping, vm_ns
from underlay import Capture
from ryu_vxlan_vpc.lab.topology import NODE_NIC
from ryu_vxlan_vpc.model import tunnel_port_name
from ryu_vxlan_vpc.netns import inside_netns
from ryu_vxlan_vpc.registry import fleet

VNI, TWO_NODE_VNI = 0x22, 0x30
C1_VM, C2_VM, C3_VM = '192.168.10.11', '192.168.10.12', '192.168.10.13'
ARP, IPV4 = 0x0806, 0x0800


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory, nodes=3) as lab:
        yield Fleet(lab)


def capture(lab, name):
    return Capture(lab.node(name)['netns'], NODE_NIC)


def arp_ask(netns, spa, tpa, timeout=3.0):
    """Send one broadcast ARP request from the VM's eth0; the sender MAC of the reply."""
    mac = bytes.fromhex(vm_mac(netns).replace(':', ''))
    with inside_netns(netns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ARP))
    with sock:
        sock.bind(('eth0', 0))
        sock.settimeout(0.2)
        request = (b'\xff' * 6 + mac + struct.pack('!HHHBBH', ARP, 1, IPV4, 6, 4, 1) + mac +
                   socket.inet_aton(spa) + b'\0' * 6 + socket.inet_aton(tpa))
        sock.send(request)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                frame = sock.recv(2048)
            except socket.timeout:
                continue
            op = struct.unpack_from('!H', frame, 20)[0]
            if op == 2 and socket.inet_ntoa(frame[28:32]) == tpa:
                return ':'.join('%02x' % b for b in frame[22:28])
    return None


def flush_arp(netns):
    subprocess.run(['ip', '-n', netns, 'neigh', 'flush', 'all'], check=True)


def test_arp_for_a_remote_vm_is_answered_on_the_asking_node(lab):
    c1_vm, c2_vm = vm_ns(lab, 'compute1', VNI), vm_ns(lab, 'compute2', VNI)
    cap = capture(lab, 'compute1')
    try:
        answer = arp_ask(c1_vm, C1_VM, C2_VM)
    finally:
        seen = cap.stop()
    assert answer == vm_mac(c2_vm)
    assert [p for p in seen if p.inner_type == ARP] == []
    # Within the asking VPC only: nobody answers for an address that is not in it.
    assert arp_ask(c1_vm, C1_VM, '192.168.10.99', timeout=1) is None


def test_first_ping_to_a_remote_vm_floods_nothing(lab):
    c1_vm = vm_ns(lab, 'compute1', VNI)
    for name in ('compute1', 'compute2'):
        flush_arp(vm_ns(lab, name, VNI))
    caps = {name: capture(lab, name) for name in ('compute1', 'compute2', 'compute3')}
    try:
        assert ping(c1_vm, C2_VM, 1) == 1
    finally:
        seen = {name: cap.stop() for name, cap in caps.items()}
    c2_vtep = lab.node('compute2')['vtep']
    sent = [p for p in seen['compute1'] if p.outgoing and p.vni == VNI]
    assert [p.dst for p in sent if p.inner_type == IPV4] == [c2_vtep]   # one echo, unicast
    for name, packets in seen.items():
        assert [p for p in packets if p.inner_type == ARP] == [], name
        assert [p for p in packets if p.inner_dst == 'ff:ff:ff:ff:ff:ff'] == [], name
    assert [p for p in seen['compute3'] if p.vni == VNI and p.inner_type == IPV4] == []


def test_broadcast_in_a_vpc_on_two_nodes_never_reaches_the_third(lab):
    lab.register(fleet.add_vpc, '%#x' % TWO_NODE_VNI)
    a, _ = lab.lab.add_vm('compute1', TWO_NODE_VNI, '192.168.30.1/24')
    lab.lab.add_vm('compute2', TWO_NODE_VNI, '192.168.30.2/24')
    wait_for(lambda: ping(a['namespace'], '192.168.30.2', 1), 15, 'a reply in %#x'
             % TWO_NODE_VNI, interval=0)
    caps = {name: capture(lab, name) for name in ('compute2', 'compute3')}
    try:
        # ARP for an address nobody has: a broadcast the ARP responder cannot answer.
        ping(a['namespace'], '192.168.30.99', 3)
    finally:
        seen = {name: cap.stop() for name, cap in caps.items()}
    flooded = [p for p in seen['compute2'] if p.vni == TWO_NODE_VNI and p.arp_tpa == '192.168.30.99']
    assert flooded, 'the broadcast must reach compute2 (else this test proves nothing)'
    assert [p for p in seen['compute3'] if p.vni == TWO_NODE_VNI] == []


def test_vm_moved_to_another_node_keeps_a_ping_going(lab):
    c2_ns = vm_ns(lab, 'compute2', VNI)
    mac = vm_mac(c2_ns)
    pinger = Pinger(vm_ns(lab, 'compute1', VNI), C2_VM, 8)
    time.sleep(2)
    lab.lab.remove_vm(c2_ns)                                      # port remove ...
    lab.lab.add_vm('compute3', VNI, C2_VM + '/24', mac=mac)       # ... port add, same MAC/IP
    sent, got = pinger.result()
    print('VM move: %d of %d pings lost (20 per second)' % (sent - got, sent))
    assert sent - got <= 20, 'lost %d pings (over 1 s) while the VM moved' % (sent - got)
    ofport = {name: lab.ovs('compute1').ofport(tunnel_port_name(lab.node(name)['vtep']))
              for name in ('compute2', 'compute3')}
    to_mac = [f for f in lab.flows('compute1', 'table=20')
              if 'priority=2,' in f and 'dl_dst=%s' % mac in f]
    assert len(to_mac) == 1 and to_mac[0].endswith('output:%d' % ofport['compute3']), to_mac
