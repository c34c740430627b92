"""The `ryu-vxlan-vpc lab` command itself, as a user runs it: a three-node full mesh."""
import os
import subprocess
import sys

from labrun import namespaces, lab_prefix
from realenv import require_real
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.lab.lab import Lab

CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')


def lab(*args):
    return subprocess.run([CLI, 'lab'] + list(args), capture_output=True, text=True,
                          timeout=300)


def test_lab_up_status_down_with_three_nodes(tmp_path):
    require_real()
    state = str(tmp_path / 'state')
    before = namespaces()
    try:
        up = lab('up', '--static', '--nodes', '3', '--state-dir', state, '--prefix',
                 lab_prefix())
        assert up.returncode == 0, up.stdout + up.stderr
        for dst in ('192.168.10.12', '192.168.10.13'):
            assert ('-> %s' % dst) in up.stdout and up.stdout.count(' 0% packet loss') == 2

        status = lab('status', '--state-dir', state)
        assert status.returncode == 0, status.stdout
        assert status.stdout.count('; connected; ') == 3

        # compute3 tunnels to both others: table 0 takes both in, table 22 floods to both.
        ovs = Lab(state).ovs(Lab(state).load()['nodes'][2])
        ports = sorted(ovs.ofport(p) for p in ('vxlan-ac150ca3', 'vxlan-ac150c08'))
        flows = text.parse_dump(ovs.ofctl('dump-flows', 'br-tun'))
        for port in ports:
            assert any('table=0, priority=1,in_port=%d actions=resubmit(,4)' % port in f
                       for f in flows), flows
        flood = [f for f in flows if 'table=22, dl_vlan=32 ' in f]
        assert flood == ['cookie=0x79, table=22, dl_vlan=32 actions=strip_vlan,set_tunnel:0x22,'
                         'output:%d,output:%d' % tuple(ports)], flows
    finally:
        down = lab('down', '--state-dir', state)
    assert down.returncode == 0, down.stderr
    assert 'removed 7 namespaces' in down.stdout, down.stdout
    assert namespaces() == before
    again = lab('down', '--state-dir', state)
    assert again.returncode == 0 and 'nothing to remove' in again.stdout


def test_lab_up_refuses_bad_input_and_taken_names_building_nothing(tmp_path):
    require_real()
    state, prefix = str(tmp_path / 'state'), lab_prefix()
    one = lab('up', '--nodes', '1', '--state-dir', state)
    assert one.returncode == 2 and '--nodes 1' in one.stderr, one.stderr
    taken = prefix + 'compute2'
    subprocess.run(['ip', 'netns', 'add', taken], check=True)
    try:
        before = namespaces()
        clash = lab('up', '--state-dir', state, '--prefix', prefix)
        assert clash.returncode != 0 and taken in clash.stderr, clash.stderr
        assert namespaces() == before
        assert not os.path.exists(os.path.join(state, 'lab.json'))
    finally:
        subprocess.run(['ip', 'netns', 'del', taken], check=True)
