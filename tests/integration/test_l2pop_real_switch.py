"""l2population and the ARP responder on a real br-tun, from a real etcd, by a real app.

One node (compute1) of a three-node fleet; compute2 and compute3 exist only as registry
records. Their tunnels are made beforehand with fixed ofports (8 and 9), unmarked, so the
app uses them as they are and every printed line is stable. What OVS prints for the whole
pipeline is kept in ``tests/unit/data/l2pop_compute1_dump_flows*.txt``: captured once from
this test (``RYU_VXLAN_VPC_CAPTURE=1``), compared with OVS here and with the renderer in
``tests/unit/test_pipeline_l2pop.py``.
"""
import json
import os
import pathlib

import pytest

from article_node import build_bridges
from realenv import RyuManager, http_get, wait_for
from ryu_vxlan_vpc.etcd_instance import EtcdInstance
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.model import tunnel_port_name
from ryu_vxlan_vpc.netns import inside_netns
from ryu_vxlan_vpc.registry import fleet
from ryu_vxlan_vpc.registry.etcd import Registry
from ryu_vxlan_vpc.shell import run

DATA = pathlib.Path(__file__).resolve().parents[1] / 'unit' / 'data'
GOLDEN = {'ofctl': DATA / 'l2pop_compute1_dump_flows.txt',
          'of13': DATA / 'l2pop_compute1_dump_flows_of13.txt'}
PREFIX = '/l2pop-test'
ETCD_IP = '172.21.0.2'
NODES = {'compute1': '172.21.12.163', 'compute2': '172.21.12.8', 'compute3': '172.21.12.9'}
TUNNELS = {'compute2': 8, 'compute3': 9}


def tunnel(ovs, remote_ip, ofport):
    name = tunnel_port_name(remote_ip)
    ovs.vsctl('add-port', 'br-tun', name, '--', 'set', 'interface', name, 'type=vxlan',
              'options:remote_ip=%s' % remote_ip, 'options:local_ip=%s' % NODES['compute1'],
              'options:dst_port=4789', 'options:in_key=flow', 'options:out_key=flow',
              'ofport_request=%d' % ofport)


def bridges(ovs):
    build_bridges(ovs)
    for node, ofport in TUNNELS.items():
        tunnel(ovs, NODES[node], ofport)


def populate(registry):
    for name, ip in NODES.items():
        fleet.add_node(registry, name, ip)
    for vni in ('0x22', '0x23', '0x24'):
        fleet.add_vpc(registry, vni)
    fleet.add_port(registry, 'compute1', 'p1', '0x22', 'fa:16:3e:00:00:01', '192.168.10.11')
    fleet.add_port(registry, 'compute1', 'p5', '0x24', 'fa:16:3e:00:00:05', '192.168.12.11')
    fleet.add_port(registry, 'compute2', 'p2', '0x22', 'fa:16:3e:00:00:02', '192.168.10.12')
    fleet.add_port(registry, 'compute3', 'p3', '0x22', 'fa:16:3e:00:00:03')       # no IP
    fleet.add_port(registry, 'compute3', 'p4', '0x23', 'fa:16:3e:00:00:04', '192.168.11.4')


@pytest.fixture
def registry_node(node, tmp_path):
    """compute1's br-tun, an etcd in its namespace and ryu-manager following it."""
    # etcd's address (not 127.0.0.1, which its instance always adds) on the loopback.
    run(['ip', 'addr', 'add', ETCD_IP + '/32', 'dev', 'lo'], netns=node.netns)
    etcd = EtcdInstance(str(tmp_path / 'etcd'), node.netns, ETCD_IP)
    pid, _ = etcd.start(str(tmp_path / 'etcd.log'))
    try:
        wait_for(etcd.healthy, 20, 'etcd in the node namespace')
        bridges(node)
        conf = tmp_path / 'compute1.conf'
        conf.write_text('[vxlan_vpc]\nlocal_ip = %s\netcd_endpoints = %s\nnode_name = compute1\n'
                        'registry_prefix = %s\novsdb_connection = %s\ndatapath_type = netdev\n'
                        % (NODES['compute1'], etcd.endpoint, PREFIX, node.db))
        ryu = RyuManager(node.netns, str(conf), str(tmp_path / 'ryu.log')).start()
        try:
            yield node, etcd, ryu
        finally:
            ryu.stop()
    finally:
        os.kill(pid, 9)


def with_registry(etcd, netns, func, *args):
    """One fleet operation, made from inside the node namespace where etcd listens."""
    with inside_netns(netns):
        return func(Registry(etcd.endpoint, prefix=PREFIX), *args)


def ours(ovs, dialect):
    protocol = 'OpenFlow13' if dialect == 'of13' else None
    return [line for line in text.parse_dump(ovs.ofctl('dump-flows', 'br-tun',
                                                        protocol=protocol))
            if line.startswith('cookie=0x79,')]


def test_registry_ports_become_flood_lists_unicast_and_arp_answers(registry_node):
    ovs, etcd, ryu = registry_node
    with_registry(etcd, ovs.netns, populate)
    # 0x22 (VLAN 1): compute2 and compute3 host ports; 0x24 (VLAN 2): nobody else, no flood
    # flow; 0x23: compute1 hosts no port of it, not provisioned here.
    wait_for(lambda: any('arp_tpa=192.168.10.12' in f for f in ours(ovs, 'ofctl')), 30,
             'the ARP answer for compute2\'s port')
    got = {d: ours(ovs, d) for d in GOLDEN}
    if os.environ.get('RYU_VXLAN_VPC_CAPTURE') == '1':
        for dialect, path in GOLDEN.items():
            path.write_text(''.join(line + '\n' for line in got[dialect]))
    for dialect, path in GOLDEN.items():
        assert got[dialect] == path.read_text().splitlines(), dialect
    flood = [f for f in got['ofctl'] if f.startswith('cookie=0x79, table=22, dl_vlan')]
    assert flood == ['cookie=0x79, table=22, dl_vlan=1 actions=strip_vlan,set_tunnel:0x22,'
                     'output:8,output:9']
    assert 'sync failed' not in ryu.log()


def test_first_and_last_port_of_a_vpc_on_a_node_changes_only_that_vpcs_flood(registry_node):
    ovs, etcd, ryu = registry_node
    with_registry(etcd, ovs.netns, populate)
    wait_for(lambda: 'dl_vlan=2 actions=strip_vlan,set_tunnel:0x24' not in ' '.join(
        ours(ovs, 'ofctl')) and any('arp_tpa=192.168.10.12' in f for f in ours(ovs, 'ofctl')),
        30, 'the registry applied')
    before = set(ours(ovs, 'ofctl'))
    # compute2's first port of 0x24: 0x24 gets a flood flow to compute2 and the port's entries.
    with_registry(etcd, ovs.netns, fleet.add_port, 'compute2', 'p6', '0x24',
                  'fa:16:3e:00:00:06', '192.168.12.6')
    wait_for(lambda: len(set(ours(ovs, 'ofctl')) - before) == 3, 20, 'three new flows')
    added = sorted(set(ours(ovs, 'ofctl')) - before)
    assert added == sorted([
        'cookie=0x79, table=20, priority=2,dl_vlan=2,dl_dst=fa:16:3e:00:00:06 '
        'actions=strip_vlan,set_tunnel:0x24,output:8',
        'cookie=0x79, table=21, priority=1,arp,dl_vlan=2,arp_tpa=192.168.12.6 '
        'actions=load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],'
        'move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xfa163e000006->NXM_NX_ARP_SHA[],'
        'load:0xc0a80c06->NXM_OF_ARP_SPA[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],'
        'mod_dl_src:fa:16:3e:00:00:06,IN_PORT',
        'cookie=0x79, table=22, dl_vlan=2 actions=strip_vlan,set_tunnel:0x24,output:8'])
    assert set(ours(ovs, 'ofctl')) >= before          # nothing else changed
    # Its last port goes: exactly those three go with it.
    with_registry(etcd, ovs.netns, fleet.remove_port, 'compute2', 'p6')
    wait_for(lambda: set(ours(ovs, 'ofctl')) == before, 20, 'the three flows gone')
    assert 'sync failed' not in ryu.log()


def test_rest_says_which_macs_come_from_the_registry_and_shows_actual_flood_lists(
        registry_node):
    ovs, etcd, ryu = registry_node
    with_registry(etcd, ovs.netns, populate)
    wait_for(lambda: any('arp_tpa=192.168.10.12' in f for f in ours(ovs, 'ofctl')), 30,
             'the registry applied')
    # A MAC the registry does not know, learned from compute3's tunnel (OVS runs learn()).
    ovs.appctl('ofproto/trace', 'br-tun', 'in_port=9,tun_id=0x22,dl_src=fa:16:3e:00:00:aa,'
               'dl_dst=fa:16:3e:00:00:01', '-generate')
    status, _, body = http_get(ovs.netns, 'http://127.0.0.1:8080/vxlan-vpc/macs')
    assert status == 200, body
    macs = {(m['mac'], m['source']): m for m in json.loads(body)['macs']}
    assert set(macs) == {('fa:16:3e:00:00:02', 'registry'), ('fa:16:3e:00:00:03', 'registry'),
                         ('fa:16:3e:00:00:aa', 'learned')}
    two = macs[('fa:16:3e:00:00:02', 'registry')]
    assert (two['vni'], two['local_vlan'], two['tunnel_port'], two['remote_ip'],
            two['seconds_left_min']) == (0x22, 1, {'name': 'vxlan-ac150c08', 'ofport': 8},
                                         '172.21.12.8', None)
    assert macs[('fa:16:3e:00:00:aa', 'learned')]['tunnel_port']['ofport'] == 9
    status, _, body = http_get(ovs.netns, 'http://127.0.0.1:8080/vxlan-vpc/vpcs')
    floods = {v['vni']: [p['name'] for p in v['switches'][0]['flood_ports']]
              for v in json.loads(body)['vpcs']}
    assert floods == {0x22: ['vxlan-ac150c08', 'vxlan-ac150c09'], 0x24: []}


def test_a_restart_on_a_full_br_tun_recognises_every_row_by_its_bytes(registry_node):
    """ryu-manager restarted on a br-tun that holds the whole pipeline: its first sync
    decodes only the plain flows; l2population's entries and the ARP answers are
    recognised as wanted by their bytes (ofp.rows_wire), and nothing is sent."""
    ovs, etcd, ryu = registry_node
    with_registry(etcd, ovs.netns, populate)
    wait_for(lambda: any('arp_tpa=192.168.10.12' in f for f in ours(ovs, 'ofctl')), 30,
             'the ARP answer for compute2\'s port')
    before = ours(ovs, 'ofctl')
    rows = [f for f in before if ', table=20, priority=2,' in f or ', table=21, priority=1,'
            in f]
    assert len(rows) == 3   # compute2's and compute3's MACs in 0x22; compute2's IP
    ryu.stop()
    ryu.start()

    def first_sync():
        try:
            status, _, body = http_get(ovs.netns, 'http://127.0.0.1:8080/vxlan-vpc/switches',
                                       timeout=5)
        except OSError:
            return None
        switches = json.loads(body)['switches'] if status == 200 else []
        return switches[0]['last_sync'] if switches and switches[0]['last_sync'] else None

    report = wait_for(first_sync, 30, 'the restarted app\'s first sync')
    assert (report['added'], report['removed'], report['how']) == (0, 0, 'nothing to send')
    assert report['read_recognised'] == len(rows)
    assert report['read_decoded'] == len(before) - len(rows)
    assert ours(ovs, 'ofctl') == before
