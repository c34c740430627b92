"""l2population and the ARP responder as pipeline data, and as packets see it.

The golden files hold what real OVS printed for this pipeline (captured by
tests/integration/test_l2pop_real_switch.py, which also checks OVS still prints them).
"""
import pathlib

import pytest

from fakeoftable import FakeOFTable, Packet
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.pipeline import tables as t
from ryu_vxlan_vpc.pipeline.br_tun import BrTunState, RemoteRoute, build
from ryu_vxlan_vpc.pipeline.sync import plan_sync

DATA = pathlib.Path(__file__).parent / 'data'
PATCH = 1
LOCAL_VM = 'fa:16:3e:00:00:01'
BROADCAST = 'ff:ff:ff:ff:ff:ff'
# The integration test's fleet as compute1 sees it: VPC 0x22 on VLAN 1 with ports on
# compute2 (ofport 8, with an IP) and compute3 (ofport 9, no IP); 0x24 on VLAN 2, nobody else.
GOLDEN_STATE = BrTunState(
    patch_int_ofport=PATCH, tunnel_ofports=(8, 9), vpcs=(Vpc(0x22, 1), Vpc(0x24, 2)),
    l2_population=True, arp_responder=True,
    remote_ports=(RemoteRoute(0x22, 'fa:16:3e:00:00:02', '192.168.10.12', 8),
                  RemoteRoute(0x22, 'fa:16:3e:00:00:03', None, 9)))


@pytest.mark.parametrize('dialect, name', [('ofctl', 'l2pop_compute1_dump_flows.txt'),
                                           ('of13', 'l2pop_compute1_dump_flows_of13.txt')])
def test_renders_exactly_what_ovs_printed(dialect, name):
    golden = (DATA / name).read_text().splitlines()
    assert len(golden) == 20
    assert [text.render(f, dialect) for f in build(GOLDEN_STATE)] == golden


def state(**kw):
    base = dict(patch_int_ofport=PATCH, tunnel_ofports=(8, 9, 10),
                vpcs=(Vpc(0x22, 1), Vpc(0x23, 2), Vpc(0x24, 3)),
                l2_population=True, arp_responder=True,
                remote_ports=(RemoteRoute(0x22, 'fa:16:3e:00:00:02', '192.168.10.12', 8),
                              RemoteRoute(0x22, 'fa:16:3e:00:00:03', '192.168.10.13', 9),
                              RemoteRoute(0x23, 'fa:16:3e:00:00:04', '192.168.11.4', 10),
                              RemoteRoute(0x99, 'fa:16:3e:00:00:09', '192.168.99.9', 10)))
    base.update(kw)
    return BrTunState(**base)


def flood_lists(flows):
    return {f.match.dl_vlan: [a.port for a in f.actions if hasattr(a, 'port')]
            for f in flows if f.table == t.FLOOD_TO_TUN and f.priority != 0}


def test_each_vpc_floods_only_to_nodes_hosting_one_of_its_ports():
    # VLAN 3 (0x24) has no remote port: no flood flow; 0x99 is not provisioned here.
    assert flood_lists(build(state())) == {1: [8, 9], 2: [10]}


def test_without_l2population_every_vpc_floods_to_every_tunnel():
    flows = build(state(l2_population=False, arp_responder=False))
    assert flood_lists(flows) == {1: [8, 9, 10], 2: [8, 9, 10], 3: [8, 9, 10]}
    assert not [f for f in flows if f.table == t.ARP_RESPONDER or f.priority == 2]
    assert len(flows) == 5 + 2 + 1 + 4 + 1 + 1 + 1 + 4    # today's pipeline, 3 VPCs


def test_a_mac_or_ip_claimed_twice_in_a_vpc_is_programmed_once():
    twice = state(remote_ports=(RemoteRoute(0x22, 'fa:16:3e:00:00:02', '192.168.10.12', 8),
                                RemoteRoute(0x22, 'fa:16:3e:00:00:02', '192.168.10.12', 9)))
    flows = build(twice)
    assert len([f for f in flows if f.table == 20 and f.priority == 2]) == 1
    assert len([f for f in flows if f.table == 21 and f.priority == 1]) == 1
    assert len({f.key for f in flows}) == len(flows)


def test_a_new_node_adds_one_table_0_flow_and_touches_no_flood_flow_of_other_vpcs():
    many = tuple(Vpc(0x1000 + i, i + 1) for i in range(4000))
    routes = tuple(RemoteRoute(v.vni, 'fa:16:3e:%02x:%02x:01' % (i >> 8, i & 0xff), None, 8)
                   for i, v in enumerate(many))
    before = build(state(vpcs=many, remote_ports=routes, tunnel_ofports=(8,)))
    after = build(state(vpcs=many, tunnel_ofports=(8, 11),
                        remote_ports=routes + (RemoteRoute(0x1000, 'fa:16:3e:ff:00:01', None,
                                                           11),)))
    plan = plan_sync(after, before)
    assert sorted(text.render(f) for f in plan.add) == [
        'cookie=0x79, table=0, priority=1,in_port=11 actions=resubmit(,4)',
        'cookie=0x79, table=20, priority=2,dl_vlan=1,dl_dst=fa:16:3e:ff:00:01 '
        'actions=strip_vlan,set_tunnel:0x1000,output:11',
        'cookie=0x79, table=22, dl_vlan=1 actions=strip_vlan,set_tunnel:0x1000,'
        'output:8,output:11']
    assert plan.delete == ()


# --- packets through the simulated table -----------------------------------------------

def table_of(st):
    return FakeOFTable(build(st))


def test_arp_request_for_a_remote_ip_is_answered_back_into_br_int():
    trace = table_of(state()).process(
        Packet(LOCAL_VM, BROADCAST, vlan=1, eth_type=0x0806, arp_op=1, arp_sha=LOCAL_VM,
               arp_spa='192.168.10.11', arp_tpa='192.168.10.13'), in_port=PATCH)
    [(port, reply)] = trace.outputs
    assert port == PATCH and reply.vlan == 1          # back to br-int, on the VPC's VLAN
    assert (reply.dl_src, reply.dl_dst) == ('fa:16:3e:00:00:03', LOCAL_VM)
    assert (reply.arp_op, reply.arp_sha, reply.arp_spa) == (2, 'fa:16:3e:00:00:03',
                                                           '192.168.10.13')
    assert (reply.arp_tha, reply.arp_tpa) == (LOCAL_VM, '192.168.10.11')


def test_arp_for_an_ip_of_another_vpc_or_unknown_is_flooded_in_its_own_vpc_only():
    table = table_of(state())
    # 192.168.11.4 is a port of 0x23 (VLAN 2): asked from VLAN 1, no answer, flood of 0x22.
    trace = table.process(Packet(LOCAL_VM, BROADCAST, vlan=1, eth_type=0x0806, arp_op=1,
                                 arp_tpa='192.168.11.4'), in_port=PATCH)
    assert sorted((p, pkt.tun_id) for p, pkt in trace.outputs) == [(8, 0x22), (9, 0x22)]


def test_unicast_to_a_registry_mac_goes_to_its_node_and_learned_flows_stay_the_fallback():
    table = table_of(state())
    trace = table.process(Packet(LOCAL_VM, 'fa:16:3e:00:00:03', vlan=1), in_port=PATCH)
    assert [(p, pkt.tun_id, pkt.vlan) for p, pkt in trace.outputs] == [(9, 0x22, None)]
    # A MAC the registry does not know (a secondary MAC) is learned from a tunnel ...
    table.process(Packet('fa:16:3e:00:00:aa', LOCAL_VM, tun_id=0x22), in_port=10)
    trace = table.process(Packet(LOCAL_VM, 'fa:16:3e:00:00:aa', vlan=1), in_port=PATCH)
    assert [(p, pkt.tun_id) for p, pkt in trace.outputs] == [(10, 0x22)]
    # ... and a learned flow never overrides the registry's entry for a known MAC.
    table.process(Packet('fa:16:3e:00:00:03', LOCAL_VM, tun_id=0x22), in_port=10)
    trace = table.process(Packet(LOCAL_VM, 'fa:16:3e:00:00:03', vlan=1), in_port=PATCH)
    assert trace.ports == [9]


def test_a_vpc_hosted_nowhere_else_floods_nowhere():
    table = table_of(state())
    trace = table.process(Packet(LOCAL_VM, BROADCAST, vlan=3), in_port=PATCH)
    assert trace.outputs == []


def test_moving_a_port_to_another_node_moves_its_unicast_and_arp_entries():
    old = build(state())
    moved = state(remote_ports=(RemoteRoute(0x22, 'fa:16:3e:00:00:02', '192.168.10.12', 8),
                                RemoteRoute(0x22, 'fa:16:3e:00:00:03', '192.168.10.13', 10),
                                RemoteRoute(0x23, 'fa:16:3e:00:00:04', '192.168.11.4', 10)))
    table = FakeOFTable(old)
    plan = plan_sync(build(moved), old)
    table.apply_bundle(plan.mods())
    trace = table.process(Packet(LOCAL_VM, 'fa:16:3e:00:00:03', vlan=1), in_port=PATCH)
    assert trace.ports == [10]                        # the stale entry towards 9 is gone
    assert flood_lists(table.flows()) == {1: [8, 10], 2: [10]}
    assert set(table.flows()) == set(build(moved))
