"""End to end: tunnel health from BFD on a real three-node registry lab (l2population on).

Every tunnel the app makes carries BFD (300 ms); each ryu-manager reads bfd_status from its
node's OVSDB every second. A node registered with a VTEP nobody has gets a tunnel that must
show down within 5 s while the live peers show up; a peer whose underlay link goes down
must leave compute1's flood list of the VPC they share, and come back with the link.
The tests run in file order on one lab.
"""
import json
import os
import subprocess
import sys
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from labrun import running_lab
from realenv import http_get, wait_for
from test_lab_registry import Fleet
from ryu_vxlan_vpc.lab.topology import NODE_NIC
from ryu_vxlan_vpc.model import tunnel_port_name
from ryu_vxlan_vpc.registry import fleet

CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')
REST = 'http://127.0.0.1:8080/vxlan-vpc'
VNI = 0x22
GHOST, GHOST_IP = 'ghost', '172.21.12.250'    # a VTEP address no namespace holds
DOWN_WITHIN = 5.0                               # the figure


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory, nodes=3) as lab:
        f = Fleet(lab)
        for name in ('compute1', 'compute2', 'compute3'):
            wait_for(lambda: set(health(f, name).values()) == {'up'}, 20,
                     'every tunnel of %s up' % name)
        yield f


def rest(lab, node, path):
    status, ctype, body = http_get(lab.node(node)['netns'], REST + path)
    assert (status, ctype) == (200, 'application/json'), body
    return json.loads(body)


def tunnels(lab, node):
    return {t['name']: t for t in rest(lab, node, '/tunnels')['tunnels']}


def health(lab, node):
    return {name: t['health'] for name, t in tunnels(lab, node).items()}


def tunnel_up(lab, node):
    """{(port, remote_ip, dpid): value} of ryu_vxlan_vpc_tunnel_up in the node's /metrics,
    read with prometheus_client's own parser."""
    status, _, body = http_get(lab.node(node)['netns'], 'http://127.0.0.1:8080/metrics')
    assert status == 200, body
    return {(s.labels['port'], s.labels['remote_ip'], s.labels['dpid']): s.value
            for family in text_string_to_metric_families(body) for s in family.samples
            if s.name == 'ryu_vxlan_vpc_tunnel_up'}


def peer_nodes(lab, ports):
    """The node behind each tunnel port, in the order given."""
    by_port = {tunnel_port_name(lab.node(n)['vtep']): n for n in ('compute1', 'compute2',
                                                                  'compute3')}
    return [by_port[p] for p in ports]


def cli(lab, node, *args):
    return subprocess.run(['ip', 'netns', 'exec', lab.node(node)['netns'], CLI] + list(args),
                          capture_output=True, text=True, timeout=60)


def flood_ports(lab, node, vlan):
    """The ofports table 22 floods VLAN ``vlan`` to, as OVS holds them now."""
    flows = [f for f in lab.flows(node, 'table=22') if 'dl_vlan=%d ' % vlan in f]
    assert len(flows) <= 1, flows
    return sorted(int(a.split(':')[1]) for f in flows for a in f.split('actions=')[1].split(',')
                  if a.startswith('output:'))


def vlan_of(lab, node, vni):
    return next(v['local_vlan'] for v in rest(lab, node, '/vpcs')['vpcs'] if v['vni'] == vni)


def test_a_tunnel_to_a_missing_vtep_shows_down_within_5s_live_peers_up(lab):
    ghost = tunnel_port_name(GHOST_IP)
    peers = {tunnel_port_name(lab.node(n)['vtep']) for n in ('compute2', 'compute3')}
    t0 = time.monotonic()
    lab.register(fleet.add_node, GHOST, GHOST_IP)   # compute1 makes the tunnel to it
    try:
        got = wait_for(lambda: tunnels(lab, 'compute1').get(ghost, {}).get('health') == 'down'
                       and tunnels(lab, 'compute1'), DOWN_WITHIN + 5, '%s down' % ghost,
                       interval=0.1)
        took = time.monotonic() - t0
        print('tunnel to a missing VTEP down %.2f s after its node was registered' % took)
        assert took < DOWN_WITHIN, took
        assert {n: t['health'] for n, t in got.items()} == dict(
            {p: 'up' for p in peers}, **{ghost: 'down'})
        dead = got[ghost]
        assert (dead['remote_ip'], dead['bfd']['state'], dead['bfd']['forwarding']) == (
            GHOST_IP, 'down', 'false')
        assert dead['ofport'] == lab.ovs('compute1').ofport(ghost)
        assert all(got[p]['bfd']['state'] == 'up' for p in peers)
        switch = rest(lab, 'compute1', '/switches')['switches'][0]
        assert {t['name']: t['health'] for t in switch['tunnel_ports']} == {
            n: t['health'] for n, t in got.items()}
        # The metrics say the same, in the same 5 s: 0 for the dead tunnel, 1 for the peers.
        up = tunnel_up(lab, 'compute1')
        took = time.monotonic() - t0
        assert took < DOWN_WITHIN, took
        expected = {(p, lab.node(n)['vtep'], switch['dpid']): 1.0
                    for p, n in zip(sorted(peers), peer_nodes(lab, sorted(peers)))}
        expected[ghost, GHOST_IP, switch['dpid']] = 0.0
        assert up == expected, up
        # BFD is configured on the interface the app made, as bfd_interval_ms says.
        bfd = lab.ovs('compute1').vsctl('get', 'interface', ghost, 'bfd').strip()
        assert bfd == '{enable="true", min_rx="300", min_tx="300"}', bfd

        # (c) the CLI prints the same, one row per tunnel.
        out = cli(lab, 'compute1', 'tunnels')
        assert out.returncode == 0, out.stderr
        rows = [line.split() for line in out.stdout.splitlines()]
        assert rows[0] == ['NAME', 'OFPORT', 'REMOTE_IP', 'HEALTH']
        assert sorted(rows[1:]) == sorted(
            [n, str(t['ofport']), t['remote_ip'], t['health']] for n, t in got.items())
        assert [ghost, str(dead['ofport']), GHOST_IP, 'down'] in rows
        print(out.stdout)
    finally:
        lab.register(fleet.remove_node, GHOST)
    wait_for(lambda: ghost not in tunnels(lab, 'compute1'), 10, '%s removed' % ghost)


def test_cli_tunnels_refuses_a_bad_dpid_and_rest_a_bad_query(lab):
    out = cli(lab, 'compute1', 'tunnels', '--dpid', 'xyz')
    assert out.returncode == 2 and out.stdout == ''
    assert "--dpid: 'xyz' is not a datapath id" in out.stderr, out.stderr
    status, _, body = http_get(lab.node('compute1')['netns'], REST + '/tunnels?dpid=xyz')
    assert status == 400 and "dpid='xyz'" in json.loads(body)['error']
    status, _, body = http_get(lab.node('compute1')['netns'], REST + '/tunnels?health=up')
    assert status == 400 and "'health'" in json.loads(body)['error']


def test_a_down_tunnel_leaves_the_flood_list_and_returns_with_its_peer(lab):
    vlan = vlan_of(lab, 'compute1', VNI)
    c1 = lab.ovs('compute1')
    to2, to3 = (tunnel_port_name(lab.node(n)['vtep']) for n in ('compute2', 'compute3'))
    of2, of3 = c1.ofport(to2), c1.ofport(to3)
    assert flood_ports(lab, 'compute1', vlan) == sorted([of2, of3])
    log = lab.node('compute1')['ryu']['log']
    log_at = os.path.getsize(log)
    nic = ['ip', '-n', lab.node('compute2')['netns'], 'link', 'set', NODE_NIC]
    t0 = time.monotonic()
    subprocess.run(nic + ['down'], check=True)
    try:
        wait_for(lambda: flood_ports(lab, 'compute1', vlan) == [of3], DOWN_WITHIN + 5,
                 '%s (ofport %d) out of table 22\'s flood flow' % (to2, of2), interval=0.1)
        took = time.monotonic() - t0
        print('peer link down: out of the flood list after %.2f s' % took)
        assert took < DOWN_WITHIN, took
        assert health(lab, 'compute1') == {to2: 'down', to3: 'up'}
        flood = [p['name'] for v in rest(lab, 'compute1', '/vpcs')['vpcs'] if v['vni'] == VNI
                 for sw in v['switches'] for p in sw['flood_ports']]
        assert flood == [to3]
        # Unicast to compute2's known port stays programmed (only flooding is cut).
        assert any('output:%d' % of2 in f for f in lab.flows('compute1', 'table=20'))
    finally:
        subprocess.run(nic + ['up'], check=True)
    t1 = time.monotonic()
    wait_for(lambda: flood_ports(lab, 'compute1', vlan) == sorted([of2, of3]), 15,
             '%s back in the flood flow' % to2, interval=0.1)
    print('peer link up: back in the flood list after %.2f s' % (time.monotonic() - t1))
    assert health(lab, 'compute1') == {to2: 'up', to3: 'up'}
    with open(log) as f:
        f.seek(log_at)
        lines = f.read()
    assert ('tunnel %s to %s: up -> down (Control Detection Time Expired)'
            % (to2, lab.node('compute2')['vtep'])) in lines, lines
    assert 'tunnel %s to %s: down -> up' % (to2, lab.node('compute2')['vtep']) in lines


def test_a_tunnel_of_ours_stripped_of_bfd_gets_it_back_in_place(lab):
    c1 = lab.ovs('compute1')
    to3 = tunnel_port_name(lab.node('compute3')['vtep'])
    ofport = c1.ofport(to3)
    log = lab.node('compute1')['ryu']['log']
    log_at = os.path.getsize(log)
    c1.vsctl('remove', 'interface', to3, 'bfd', 'enable')
    # The ports agent's next look at OVSDB (every second) sets it again, on the same port.
    wait_for(lambda: c1.vsctl('get', 'interface', to3, 'bfd').strip()
             == '{enable="true", min_rx="300", min_tx="300"}', 5, 'BFD back on %s' % to3)
    assert c1.ofport(to3) == ofport
    wait_for(lambda: health(lab, 'compute1').get(to3) == 'up', 10, '%s up again' % to3)
    with open(log) as f:
        f.seek(log_at)
        assert 'OVSDB: tunnel to %s: BFD on %s, every 300 ms' % (
            lab.node('compute3')['vtep'], to3) in f.read()
