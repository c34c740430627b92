"""End to end: the article's two compute nodes built by the lab, a ping across the overlay.

Everything is real: per node a network namespace, its own ovsdb-server + ovs-vswitchd
(userspace datapath), bootstrap through ovs-vsctl/ip, and a ryu-manager running our app;
VM namespaces ping each other through VXLAN over a veth underlay. The lab gets a private
state directory and a namespace prefix, so it never meets a user's lab; it is removed
afterwards, pass or fail. The last test removes it itself and checks nothing is left.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from labrun import ETC, Built, lab_prefix, namespaces
from realenv import http_get, require_real
from ryu_vxlan_vpc import procs
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.lab.lab import Lab, LabError

CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')
REST = 'http://127.0.0.1:8080/vxlan-vpc'
C1_VTEP, C2_VTEP = '172.21.12.163', '172.21.12.8'
VNI, VNI2 = 0x22, 0x23


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    require_real()
    output = []
    lab = Lab(str(tmp_path_factory.mktemp('lab') / 'state'), out=output.append)
    try:
        pings = lab.up(nodes=2, prefix=lab_prefix(), second_vpc=True, config_dir=ETC,
                       static=True)
        yield Built(lab, pings, output)
    finally:
        lab.down(quiet=True)


def rest(built, node, path):
    status, ctype, body = http_get(built.nodes[node]['netns'], REST + path)
    assert (status, ctype) == (200, 'application/json'), body
    return json.loads(body)


def cli(built, node, *args):
    return subprocess.run(['ip', 'netns', 'exec', built.nodes[node]['netns'], CLI] + list(args),
                          capture_output=True, text=True, timeout=60)


def test_ping_crosses_the_overlay_without_loss(built):
    first = built.pings[0]
    assert first.dst == '192.168.10.12' and first.src == built.vm('compute1', VNI)['namespace']
    assert first.transmitted == 5 and first.received == 5, first.output
    assert ' 0% packet loss' in first.output
    assert ' 0% packet loss' in '\n'.join(built.output)


def test_far_node_learned_compute1_vm_in_table_20(built):
    want = built.learned('compute2', VNI, 22, built.mac('compute1', VNI), C1_VTEP)
    assert want in built.table20('compute2')
    # `lab up` itself showed it, as the article's last step does.
    assert want in text.parse_dump('\n'.join(built.output))


def test_near_node_learned_compute2_vm_with_its_own_vlan(built):
    want = built.learned('compute1', VNI, 12, built.mac('compute2', VNI), C2_VTEP)
    assert want in built.table20('compute1')


def test_only_vm_macs_are_learned(built):
    learned = [line for line in built.table20('compute2') if 'priority=1,' in line]
    macs = {line.split('dl_dst=')[1].split()[0] for line in learned}
    assert macs == {built.mac('compute1', VNI), built.mac('compute1', VNI2)}


def test_other_vpc_is_isolated(built):
    same_vpc, isolated = built.pings[1], built.pings[2]
    assert same_vpc.received > 0, same_vpc.output          # VNI 0x23 works on its own ...
    assert same_vpc.dst == isolated.dst == built.vm('compute2', VNI2)['address'].split('/')[0]
    # ... but not from VNI 0x22:
    assert isolated.transmitted == 3 and isolated.received == 0, isolated.output
    vm2_mac = built.mac('compute2', VNI2)
    assert not any('vlan_tci=0x000c/' in line and vm2_mac in line
                   for line in built.table20('compute1'))


def test_rest_flows_show_the_learned_flow_like_ovs_ofctl(built):
    want = built.learned('compute2', VNI, 22, built.mac('compute1', VNI), C1_VTEP)
    flows = rest(built, 'compute2', '/flows?table=20')['flows']
    assert want in [text.strip_stats(f['text']) for f in flows]
    status, _, listing = http_get(built.nodes['compute2']['netns'],
                                  REST + '/flows?table=20&format=text')
    assert status == 200
    assert sorted(text.parse_dump(listing)) == sorted(built.table20('compute2'))


def test_rest_macs_list_compute1_vm_under_vni_0x22(built):
    macs = rest(built, 'compute2', '/macs')['macs']
    mine = [m for m in macs if m['mac'] == built.mac('compute1', VNI)]
    assert len(mine) == 1, macs
    entry = mine[0]
    assert (entry['vni_hex'], entry['local_vlan'], entry['remote_ip']) == ('0x22', 22, C1_VTEP)
    assert entry['tunnel_port']['name'] == 'vxlan-ac150ca3'
    # A lower bound: OVS counts the hard timeout from the last time learn() fired.
    line = next(ln for ln in built.ovs('compute2').ofctl('dump-flows', 'br-tun', 'table=20')
                .splitlines() if entry['mac'] in ln)
    age = re.search(r'hard_age=(\d+)', line) or re.search(r'duration=(\d+)', line)
    assert 0 < entry['seconds_left_min'] <= 300 - int(age.group(1))


def test_cli_on_compute2_prints_learned_flow_and_mac(built):
    flows = cli(built, 'compute2', 'flows', '--table', '20')
    assert flows.returncode == 0, flows.stderr
    want = built.learned('compute2', VNI, 22, built.mac('compute1', VNI), C1_VTEP)
    assert want in text.parse_dump(flows.stdout)
    macs = cli(built, 'compute2', 'macs')
    assert macs.returncode == 0, macs.stderr
    row = next(line for line in macs.stdout.splitlines()
               if line.startswith(built.mac('compute1', VNI)))
    assert row.split()[1:5] == ['learned', '0x22', '22', 'vxlan-ac150ca3(%d)' % built.ovs(
        'compute2').ofport('vxlan-ac150ca3')]


def test_status_reports_a_healthy_lab(built):
    lines = []
    assert Lab(built.lab.state_dir, out=lines.append).status() == 0, lines
    assert sum('connected; br-tun flows:' in line for line in lines) == 2, lines


def test_second_lab_in_the_same_state_dir_is_refused(built):
    before = namespaces()
    with pytest.raises(LabError, match='already up'):
        Lab(built.lab.state_dir).up(nodes=2, prefix=built.rec['prefix'], config_dir=ETC)
    assert namespaces() == before


def test_lab_down_leaves_no_namespace_process_or_file(built):
    ours = set(built.rec['namespaces'])
    pids = [(n['ryu']['pid'], n['ryu']['started']) for n in built.rec['nodes']]
    pids += [(pid, None) for name in built.nodes for pid in built.ovs(name).pids().values()]
    assert len(pids) == 6 and ours <= namespaces()
    assert built.lab.down() == 0
    assert not ours & namespaces()
    assert not [p for p in pids if procs.alive(*p)]
    assert not os.path.exists(built.lab.state_dir)
    lines = []
    assert Lab(built.lab.state_dir, out=lines.append).down() == 0
    assert lines == ['no lab in %s: nothing to remove' % built.lab.state_dir]
