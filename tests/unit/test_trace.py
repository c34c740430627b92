"""Packet trace, pure parts: terms -> ofproto/trace flow, trace text -> hops, hops joined
with the switch's flows, and the verdict.

tests/unit/data/trace_*.txt were captured from real OVS 3.1 on a 3-node `lab up` (compute1:
patch-int=1, vxlan-ac150c0d=2 to compute3, vxlan-ac150c08=3 to compute2; VNI 0x22 on
local VLAN 1; fa:16:3e:aa:bb:cc learned behind compute2 after a ping from a second MAC
in compute2's VM) with `ovs-appctl ofproto/trace br-tun FLOW`, FLOW as in CAPTURED.
trace_compute1_dump_flows.txt is `ovs-ofctl dump-flows br-tun` at the same moment.
"""
import pathlib
import socket

import pytest

from ryu_vxlan_vpc.flows import model as m
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.pipeline.br_tun import BrTunState, RemoteRoute, build
from ryu_vxlan_vpc.trace import explain, ovs, parse, request
from ryu_vxlan_vpc.trace.verdict import verdict

DATA = pathlib.Path(__file__).parent / 'data'
LEARN_COOKIE, FLOW_COOKIE = 0xa9eb8f9011f7e038, 0x79
PORTS = {'patch-int': 1, 'vxlan-ac150c0d': 2, 'vxlan-ac150c08': 3}
VM1, VM2, VM3, SECOND = ('fa:16:3e:00:00:01', 'fa:16:3e:00:00:02', 'fa:16:3e:00:00:03',
                         'fa:16:3e:aa:bb:cc')
CAPTURED = {
    'vm_broadcast': 'in_port=1,dl_vlan=1,dl_src=%s,dl_dst=ff:ff:ff:ff:ff:ff' % VM1,
    'tunnel_unknown_vni': 'in_port=2,tun_id=0x99,dl_src=%s,dl_dst=%s' % (VM3, VM1),
    'tunnel_to_vm': 'in_port=2,tun_id=0x22,dl_src=%s,dl_dst=%s' % (VM3, VM1),
    'vm_unicast_registry': 'in_port=1,dl_vlan=1,dl_src=%s,dl_dst=%s' % (VM1, VM2),
    'vm_unicast_learned': 'in_port=1,dl_vlan=1,dl_src=%s,dl_dst=%s' % (VM1, SECOND),
    'vm_arp_answered': 'arp,in_port=1,dl_vlan=1,dl_src=%s,dl_dst=ff:ff:ff:ff:ff:ff,'
                       'arp_op=1,arp_tpa=192.168.10.12,arp_sha=%s' % (VM1, VM1),
    'vm_arp_flooded': 'arp,in_port=1,dl_vlan=1,dl_src=%s,dl_dst=ff:ff:ff:ff:ff:ff,'
                      'arp_op=1,arp_tpa=192.168.10.99,arp_sha=%s' % (VM1, VM1),
    'vm_unknown_vlan': 'in_port=1,dl_vlan=7,dl_src=%s,dl_dst=fa:16:3e:00:00:09' % VM1,
}


def learned(mac, ofport):
    return m.Flow(table=20, priority=1, cookie=LEARN_COOKIE, hard_timeout=300,
                  match=m.Match(vlan_tci=(1, 0x0fff), dl_dst=mac),
                  actions=(m.Load(0, m.FieldRef('NXM_OF_VLAN_TCI')),
                           m.Load(0x22, m.FieldRef('NXM_NX_TUN_ID')), m.Output(ofport)))


# compute1's flows when the traces were taken, as the app would read them back.
FLOWS = build(BrTunState(
    patch_int_ofport=1, tunnel_ofports=(2, 3), vpcs=(Vpc(0x22, 1),),
    l2_population=True, arp_responder=True,
    remote_ports=(RemoteRoute(0x22, VM2, '192.168.10.12', 3),
                  RemoteRoute(0x22, VM3, '192.168.10.13', 2)))) + [
    learned(VM2, 3), learned(VM3, 2), learned(SECOND, 3)]


def load(name):
    return parse.parse((DATA / ('trace_%s.txt' % name)).read_text())


def explained(name, in_port, vni=0x22, vlan=1):
    trace = load(name)
    ports = explain.Ports(PORTS, 'patch-int', in_port)
    hops = trace.bridge_hops('br-tun')
    return ([explain.describe(h, FLOWS, ports, LEARN_COOKIE, FLOW_COOKIE) for h in hops],
            verdict(hops, ports, vni, vlan))


def test_the_flows_are_what_ovs_held_when_the_traces_were_taken():
    dumped = text.parse_dump((DATA / 'trace_compute1_dump_flows.txt').read_text())
    assert sorted(text.render(f) for f in FLOWS) == sorted(dumped)


@pytest.mark.parametrize('name', sorted(CAPTURED))
def test_every_capture_parses_with_its_flow(name):
    trace = load(name)
    assert trace.hops[0].bridge == 'br-tun' and trace.hops[0].table == 0
    assert trace.datapath_actions
    # OVS echoes the flow with defaults filled in; every term we gave is in it
    for term in CAPTURED[name].split(','):
        assert term in trace.flow.split(',') or term.startswith('tun_id'), term


def test_broadcast_from_the_vm_floods_to_both_tunnels():
    hops, v = explained('vm_broadcast', 1)
    assert [h['table'] for h in hops] == [0, 2, 22]
    assert hops[-1]['text'] == (
        'table 22 FLOOD_TO_TUN: dl_vlan=1 -> strip_vlan, set_tunnel:0x22, output to '
        'vxlan-ac150c0d (172.21.12.13), output to vxlan-ac150c08 (172.21.12.8)')
    assert v['result'] == 'flooded'
    assert [p['name'] for p in v['ports']] == ['vxlan-ac150c0d', 'vxlan-ac150c08']
    assert v['text'] == ('flooded in table 22 FLOOD_TO_TUN to vxlan-ac150c0d (172.21.12.13), '
                         'vxlan-ac150c08 (172.21.12.8)')


def test_nested_underlay_bridge_does_not_hide_the_second_output():
    hop = load('vm_broadcast').bridge_hops('br-tun')[-1]
    assert hop.actions == ('pop_vlan', 'set_tunnel:0x22', 'output:2', 'output:3')


def test_unknown_vni_from_a_tunnel_is_dropped_in_table_4():
    hops, v = explained('tunnel_unknown_vni', 2, vni=0x99, vlan=None)
    assert hops[-1]['text'] == 'table 4 VXLAN_TUN_TO_LV: priority=0 -> drop'
    assert (v['result'], v['table']) == ('dropped', 4)
    assert v['text'] == ('dropped in table 4 VXLAN_TUN_TO_LV: VNI 0x99 is not a VPC of this '
                         'node (no tun_id flow for it)')


def test_known_vni_from_a_tunnel_is_learned_and_delivered_to_br_int():
    trace = load('tunnel_to_vm')
    hops, v = explained('tunnel_to_vm', 2)
    assert hops[1]['text'] == ('table 4 VXLAN_TUN_TO_LV: priority=1,tun_id=0x22 -> '
                               'mod_vlan_vid:1, resubmit(,10)')
    assert hops[2]['ovs_notes'] == ['>> suppressing side effects, so learn action ignored']
    assert v['result'] == 'delivered' and v['ports'][0]['towards'] == 'br-int'
    assert v['text'] == ('delivered by table 10 LEARN_FROM_TUN to patch-int (to br-int), '
                         'on local VLAN 1')
    beyond = [explain.other_bridge(h) for h in trace.hops if h.bridge != 'br-tun']
    assert [b['text'] for b in beyond] == [
        'bridge br-int table 0: NORMAL (forwarding to learned port)']


def test_unicast_to_a_registry_port_uses_l2population_flow():
    hops, v = explained('vm_unicast_registry', 1)
    assert hops[-1]['kind'] == 'pipeline'
    assert hops[-1]['text'] == ('table 20 UCAST_TO_TUN: priority=2,dl_vlan=1,dl_dst=%s -> '
                                'strip_vlan, set_tunnel:0x22, output to vxlan-ac150c08 '
                                '(172.21.12.8)' % VM2)
    assert v['text'] == ('delivered by table 20 UCAST_TO_TUN to tunnel vxlan-ac150c08 '
                         '(172.21.12.8)')


def test_unicast_to_a_learned_mac_names_the_learned_flow():
    hops, v = explained('vm_unicast_learned', 1)
    assert hops[-1]['kind'] == 'learned' and hops[-1]['in_flow_dump']
    assert hops[-1]['cookie'] == '0xa9eb8f9011f7e038'
    assert hops[-1]['text'] == (
        'table 20 UCAST_TO_TUN, learned flow: priority=1,vlan_tci=0x0001/0x0fff,dl_dst=%s -> '
        'load:0->NXM_OF_VLAN_TCI[], load:0x22->NXM_NX_TUN_ID[], output to vxlan-ac150c08 '
        '(172.21.12.8)' % SECOND)
    assert v['ports'][0]['remote_ip'] == '172.21.12.8'


def test_a_flow_gone_from_the_dump_is_shown_as_ovs_printed_it():
    trace = load('vm_unicast_learned')
    ports = explain.Ports(PORTS, 'patch-int', 1)
    hop = explain.describe(trace.hops[2], FLOWS[:-1], ports, LEARN_COOKIE, FLOW_COOKIE)
    assert not hop['in_flow_dump']
    assert hop['text'] == ('table 20 UCAST_TO_TUN: priority=1,vlan_tci=0x0001/0x0fff,'
                           'dl_dst=%s -> load:0->NXM_OF_VLAN_TCI[], load:0x22->'
                           'NXM_NX_TUN_ID[], output to vxlan-ac150c08 (172.21.12.8)' % SECOND)


def test_arp_for_a_remote_port_is_answered_in_place():
    hops, v = explained('vm_arp_answered', 1)
    assert [h['table'] for h in hops] == [0, 2, 21]
    assert hops[-1]['actions'][-1] == 'IN_PORT (back out patch-int (to br-int))'
    assert (v['result'], v['table']) == ('answered', 21)
    assert v['text'] == ('answered by the ARP responder in table 21 ARP_RESPONDER: the reply '
                         'goes back out patch-int (to br-int)')


def test_arp_for_an_unknown_ip_goes_on_to_the_flood():
    hops, v = explained('vm_arp_flooded', 1)
    assert [h['table'] for h in hops] == [0, 2, 21, 22]
    assert v['result'] == 'flooded' and len(v['ports']) == 2


def test_a_vlan_without_vpc_is_dropped_in_table_22():
    _, v = explained('vm_unknown_vlan', 1, vlan=7)
    assert (v['result'], v['table']) == ('dropped', 22)
    assert v['text'].startswith('dropped in table 22 FLOOD_TO_TUN: no flood flow')


def test_no_match_hop():
    text_ = ('Flow: in_port=9\n\nbridge("br-tun")\n----------------\n 0. No match.\n'
             '    drop\n\nFinal flow: unchanged\nDatapath actions: drop\n')
    trace = parse.parse(text_)
    assert not trace.hops[0].matched
    v = verdict(trace.hops, explain.Ports(PORTS, 'patch-int', 9), 0x22)
    assert v['text'] == 'dropped in table 0 LOCAL_SWITCHING: no flow matched'


@pytest.mark.parametrize('bad', ['', 'Bad openflow flow syntax: x\n',
                                 'Flow: in_port=1\n\nFinal flow: unchanged\n'])
def test_what_is_not_a_trace_is_refused(bad):
    with pytest.raises(parse.TraceFormatError):
        parse.parse(bad)


# --- terms ---------------------------------------------------------------------------

def terms(**kw):
    return request.parse_terms(kw)


def test_vm_flow_is_on_the_patch_port_with_the_local_vlan():
    t = terms(node_port='qvo123', vpc='0x22', dst='FF:FF:FF:FF:FF:FF')
    assert request.vm_flow(t, 1, 12, VM1) == CAPTURED['vm_broadcast'].replace('dl_vlan=1',
                                                                               'dl_vlan=12')


def test_tunnel_flow_carries_the_vni_and_outer_addresses():
    t = terms(tunnel='vxlan-ac150c0d', vpc='153', dst=VM1)
    assert request.tunnel_flow(t, 2, '172.21.12.13', '172.21.12.163') == (
        'in_port=2,tun_id=0x99,tun_src=172.21.12.13,tun_dst=172.21.12.163,dl_dst=%s' % VM1)


def test_arp_request_defaults_to_broadcast():
    t = terms(node_port='qvo123', vpc='0x22', arp='192.168.10.12')
    assert t.dst == request.BROADCAST
    assert request.vm_flow(t, 1, 1, VM1) == CAPTURED['vm_arp_answered']


@pytest.mark.parametrize('raw, field', [
    (dict(vpc='1', dst=VM1), 'node_port'),
    (dict(node_port='a', tunnel='b', vpc='1', dst=VM1), 'tunnel'),
    (dict(node_port='qvo;rm', vpc='1', dst=VM1), 'node_port'),
    (dict(tunnel='x' * 16, vpc='1', dst=VM1), 'tunnel'),
    (dict(node_port='--help', vpc='1', dst=VM1), 'node_port'),
    (dict(tunnel='vxlan-1', dst=VM1), 'vpc'),
    (dict(tunnel='vxlan-1', vpc='0', dst=VM1), 'vpc'),
    (dict(tunnel='vxlan-1', vpc='0x1000000', dst=VM1), 'vpc'),
    (dict(tunnel='vxlan-1', vpc='-1', dst=VM1), 'vpc'),
    (dict(tunnel='vxlan-1', vpc='1'), 'dst'),
    (dict(tunnel='vxlan-1', vpc='1', dst='fa:16:3e:00:00'), 'dst'),
    (dict(tunnel='vxlan-1', vpc='1', dst=VM1 + ',in_port=2'), 'dst'),
    (dict(tunnel='vxlan-1', vpc='1', dst=VM1, src='ff:ff:ff:ff:ff:ff'), 'src'),
    (dict(tunnel='vxlan-1', vpc='1', arp='192.168.10.300'), 'arp'),
])
def test_bad_terms_name_their_field(raw, field):
    with pytest.raises(request.TermError) as err:
        request.parse_terms(raw)
    assert err.value.field == field
    assert str(err.value).startswith(('%s=' % field, '%s: ' % field))


def test_a_missing_term_says_so():
    with pytest.raises(request.TermError) as err:
        request.parse_terms({'tunnel': 'vxlan-1', 'dst': VM1})
    assert str(err.value).startswith('vpc: required')


# --- finding ovs-vswitchd (real files and sockets in a tmp dir) -----------------------

def test_rundir_is_beside_the_ovsdb_socket_or_ovs_rundir():
    assert ovs.rundir_of('unix:/run/lab/compute1/ovs/db.sock', {}) == '/run/lab/compute1/ovs'
    assert ovs.rundir_of('tcp:127.0.0.1:6640', {}) == ovs.DEFAULT_RUNDIR
    assert ovs.rundir_of('tcp:127.0.0.1:6640', {'OVS_RUNDIR': '/x'}) == '/x'


def test_vswitchd_socket_is_found_from_its_pid_file(tmp_path):
    with pytest.raises(ovs.OvsUnavailable, match='cannot read .*ovs-vswitchd.pid'):
        ovs.vswitchd_socket(str(tmp_path))
    (tmp_path / 'ovs-vswitchd.pid').write_text('4242\n')
    with pytest.raises(ovs.OvsUnavailable, match='no control socket .*ovs-vswitchd.4242.ctl'):
        ovs.vswitchd_socket(str(tmp_path))
    (tmp_path / 'ovs-vswitchd.4242.ctl').write_text('a file is not a socket')
    with pytest.raises(ovs.OvsUnavailable):
        ovs.vswitchd_socket(str(tmp_path))
    (tmp_path / 'ovs-vswitchd.4242.ctl').unlink()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / 'ovs-vswitchd.4242.ctl'))
        assert ovs.vswitchd_socket(str(tmp_path)) == str(tmp_path / 'ovs-vswitchd.4242.ctl')
