"""Tunnel health from BFD: the pure reading of OVSDB, and what the core does with it.

``data/ovs_vsctl_find_vxlan_bfd.json`` is what ``ovs-vsctl --format=json --columns=...
find Interface type=vxlan`` printed on a lab node (OVS 3.1, userspace) with its peer's
underlay link down and a second tunnel to a VTEP nobody has. The flood-list tests drive
``core.switches.Controller`` against the in-memory br-tun, as the app does.
"""
import dataclasses
import json
import pathlib

import pytest

from fakeoftable import Packet
from test_core_churn import (BASE_NODES, BASE_PORTS, DPID, LOCAL, LOCAL_MAC, NODE3, NODE3_IP,
                             PATCH, REGISTRY, TUN2, TUN3, Node, flooded, intent_of)
from ryu_vxlan_vpc import tunnel_health as th
from ryu_vxlan_vpc.config import Settings
from ryu_vxlan_vpc.core.intent import from_settings
from ryu_vxlan_vpc.model import Vpc

DATA = pathlib.Path(__file__).parent / 'data'
ON = {'enable': 'true', 'min_rx': '300', 'min_tx': '300'}


# --- the pure reading ------------------------------------------------------------------------

@pytest.mark.parametrize('bfd, status, health', [
    (ON, {'state': 'up', 'forwarding': 'true'}, 'up'),
    (ON, {'state': 'down', 'forwarding': 'false'}, 'down'),
    (ON, {'state': 'init', 'forwarding': 'false'}, 'down'),       # nothing heard back yet
    (ON, {'state': 'admin_down', 'forwarding': 'false'}, 'down'),
    # Locally up but the remote signals a problem: OVS says do not forward; so do we.
    (ON, {'state': 'up', 'forwarding': 'false', 'remote_diagnostic': 'Concatenated Path Down'},
     'down'),
    (ON, {}, None),                                   # enabled, not reported yet: no value
    ({}, {}, 'no-bfd'),
    ({'enable': 'false', 'min_rx': '300'}, {}, 'no-bfd'),
])
def test_health_is_bfd_forwarding(bfd, status, health):
    assert th.health_of(bfd, status) == health


def test_parse_reads_ovs_vsctl_find_output():
    tunnels = th.parse((DATA / 'ovs_vsctl_find_vxlan_bfd.json').read_text())
    assert sorted(tunnels) == ['vxlan-ac150c08', 'vxlan-ghost']
    peer = tunnels['vxlan-ac150c08']
    assert (peer.remote_ip, peer.health, peer.diagnostic) == (
        '172.21.12.8', 'down', 'Control Detection Time Expired')
    assert dict(peer.bfd) == ON and dict(peer.status)['flap_count'] == '4'
    assert th.health_map(tunnels) == {'vxlan-ac150c08': 'down', 'vxlan-ghost': 'down'}


def test_parse_skips_interfaces_that_are_not_tunnels_and_reads_empty_maps():
    doc = {'headings': list(th.COLUMNS), 'data': [
        ['vxlan-0a000001', 'vxlan', ['map', [['remote_ip', '10.0.0.1']]], ['map', []],
         ['map', []]],
        ['other-vxlan', 'vxlan', ['map', []], ['map', []], ['map', []]]]}
    tunnels = th.parse(json.dumps(doc))
    assert list(tunnels) == ['vxlan-0a000001']
    assert tunnels['vxlan-0a000001'].health == 'no-bfd'
    assert th.parse(json.dumps({'headings': list(th.COLUMNS), 'data': []})) == {}


def test_read_args_ask_one_small_table():
    assert th.read_args() == ('--format=json', '--columns=name,type,options,bfd,bfd_status',
                              'find', 'Interface', 'type=vxlan')


def tunnel(name, forwarding=None, diagnostic='No Diagnostic', bfd=True, remote='172.21.12.8'):
    status = () if forwarding is None else (('diagnostic', diagnostic),
                                            ('forwarding', forwarding))
    return th.TunnelBfd(name, remote, tuple(sorted(ON.items())) if bfd else (), status)


def test_changes_name_the_tunnel_its_vtep_old_and_new_and_the_diagnostic():
    up = {'vxlan-ac150c08': tunnel('vxlan-ac150c08', 'true')}
    down = {'vxlan-ac150c08': tunnel('vxlan-ac150c08', 'false',
                                     'Control Detection Time Expired')}
    assert th.changes(up, down) == ['tunnel vxlan-ac150c08 to 172.21.12.8: up -> down '
                                    '(Control Detection Time Expired)']
    assert th.changes(down, up) == ['tunnel vxlan-ac150c08 to 172.21.12.8: down -> up']
    assert th.changes(up, dict(up)) == []              # unchanged: nothing to say
    assert th.changes({}, up) == ['tunnel vxlan-ac150c08 to 172.21.12.8: unknown -> up']
    assert th.changes(up, {}) == ['tunnel vxlan-ac150c08 to 172.21.12.8: up -> gone']
    # Enabled but not reported yet is no health at all: no line either way.
    assert th.changes({}, {'vxlan-ac150c08': tunnel('vxlan-ac150c08')}) == []


# --- the core: flood lists follow health, with l2population only ----------------------------

NODES3 = {**BASE_NODES, NODE3: NODE3_IP}
PORTS3 = {**BASE_PORTS, (NODE3, 'r1'): 0x22}   # compute2 and compute3 both host a 0x22 port
L2POP = dataclasses.replace(REGISTRY, l2_population=True, arp_responder=True)


def node3(settings=L2POP):
    node = Node(settings, ports={'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8, TUN3: 9})
    assert node.set_intent(intent_of(node, NODES3, PORTS3)) == [DPID]
    assert node.core.intent.vpcs == (Vpc(0x22, 1),)
    assert flooded(node.broadcast(1)) == {8: 0x22, 9: 0x22}
    return node


def set_health(node, health):
    dpids = node.core.set_tunnel_health(health)
    for dpid in dpids:
        assert dpid == DPID
        node.sync()
    return dpids


def test_a_down_tunnel_leaves_the_flood_list_until_it_is_back():
    node = node3()
    assert set_health(node, {TUN2: 'up', TUN3: 'up'}) == []   # BFD came up: no flow changes
    bundles = node.table.n_bundles
    assert set_health(node, {TUN2: 'down', TUN3: 'up'}) == [DPID]
    assert flooded(node.broadcast(1)) == {9: 0x22}
    assert 'cookie=0x79, table=22, dl_vlan=1 actions=strip_vlan,set_tunnel:0x22,output:9' \
        in node.ours()
    # Only that flow changed, in one bundle; unicast to compute2's known port still goes.
    assert [len(p.add) + len(p.delete) for p in node.plans[-1:]] == [1]
    assert node.table.n_bundles == bundles + 1
    node2_mac = next(p.mac for p in node.core.intent.remote_ports if p.remote_ip == '172.21.12.8')
    assert node.table.process(Packet(LOCAL_MAC, node2_mac, vlan=1), in_port=PATCH).ports == [8]
    # The same health again changes nothing and syncs nothing.
    assert set_health(node, {TUN2: 'down', TUN3: 'up'}) == []
    assert set_health(node, {TUN2: 'up', TUN3: 'up'}) == [DPID]
    assert flooded(node.broadcast(1)) == {8: 0x22, 9: 0x22}


def test_no_bfd_and_unknown_tunnels_stay_in_the_flood_lists():
    node = node3()
    assert set_health(node, {TUN2: 'no-bfd'}) == []      # TUN3 not read yet: absent
    assert flooded(node.broadcast(1)) == {8: 0x22, 9: 0x22}


def test_every_tunnel_of_a_vpc_down_leaves_it_no_flood_flow_then_it_comes_back():
    node = node3()
    set_health(node, {TUN2: 'up', TUN3: 'up'})
    assert set_health(node, {TUN2: 'down', TUN3: 'down'}) == [DPID]
    assert node.broadcast(1).outputs == []
    assert not [f for f in node.ours() if 'table=22, dl_vlan=1' in f]
    assert set_health(node, {TUN2: 'down', TUN3: 'up'}) == [DPID]
    assert flooded(node.broadcast(1)) == {9: 0x22}


def test_a_tunnel_never_up_stays_in_the_flood_lists_while_down():
    """A dead VTEP or a peer without BFD (an older node, bfd_interval_ms = 0): BFD cannot
    tell them apart, and cutting off the second would lose its broadcasts silently."""
    node = node3()
    assert set_health(node, {TUN2: 'down', TUN3: 'up'}) == []
    assert flooded(node.broadcast(1)) == {8: 0x22, 9: 0x22}
    assert set_health(node, {TUN2: 'up', TUN3: 'up'}) == []
    assert set_health(node, {TUN2: 'down', TUN3: 'up'}) == [DPID]   # up once, now down
    assert flooded(node.broadcast(1)) == {9: 0x22}


def test_health_of_a_tunnel_follows_its_name_when_its_ofport_changes():
    node = node3()
    set_health(node, {TUN2: 'up'})
    set_health(node, {TUN2: 'down'})
    node.port(TUN2, None)          # the tunnel is re-made: a new ofport, still down
    node.port(TUN2, 12)
    assert flooded(node.broadcast(1)) == {9: 0x22}
    set_health(node, {TUN2: 'up'})
    assert flooded(node.broadcast(1)) == {12: 0x22, 9: 0x22}


def test_file_mode_keeps_the_articles_flood_list_whatever_the_health():
    settings = Settings('172.21.12.7', ('172.21.12.8',), (Vpc(0x22, 12),))
    node = Node(settings, from_settings(settings),
                ports={'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8})
    node.sync()
    assert node.core.set_tunnel_health({TUN2: 'down'}) == []
    assert node.sync().empty and flooded(node.broadcast(12)) == {8: 0x22}


def test_l2population_off_in_registry_mode_ignores_health_too():
    node = node3(REGISTRY)      # l2_population off
    assert node.core.set_tunnel_health({TUN2: 'down'}) == []
    assert flooded(node.broadcast(1)) == {8: 0x22, 9: 0x22}


def test_health_before_the_registry_is_read_asks_for_no_sync():
    node = Node(L2POP, ports={'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8})
    assert node.core.set_tunnel_health({TUN2: 'down'}) == []
    assert node.sync() is None


# --- the REST view ---------------------------------------------------------------------------

def test_tunnel_view_says_unknown_until_read_and_null_bfd_without_a_status():
    from ryu_vxlan_vpc.rest import views
    health = {'vxlan-ac150c08': 'down', 'vxlan-ac150c09': 'no-bfd'}
    bfd = {'vxlan-ac150c08': {'state': 'down', 'forwarding': 'false'}, 'vxlan-ac150c09': {}}
    assert views.tunnel_view(0x10, 'vxlan-ac150c08', 8, health, bfd) == {
        'dpid': '0000000000000010', 'name': 'vxlan-ac150c08', 'ofport': 8,
        'remote_ip': '172.21.12.8', 'health': 'down',
        'bfd': {'state': 'down', 'forwarding': 'false'}}
    assert views.tunnel_view(0x10, 'vxlan-ac150c09', 9, health, bfd)['bfd'] is None
    fresh = views.tunnel_view(0x10, 'vxlan-ac150c0a', 10, health, bfd)
    assert (fresh['health'], fresh['bfd']) == ('unknown', None)
