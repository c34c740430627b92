"""Resync as a set difference: what is added, replaced in place, deleted or left alone."""
from ryu_vxlan_vpc.config import Vpc
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.flows.model import Flow, Match, Output
from ryu_vxlan_vpc.pipeline import br_tun
from ryu_vxlan_vpc.pipeline.sync import plan_sync


def pipeline(tunnels=(8,), vpcs=(Vpc(0x22, 12),)):
    return br_tun.build(br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=tunnels,
                                          vpcs=vpcs))


def texts(flows):
    return sorted(text.render(f) for f in flows)


def test_in_sync_sends_nothing():
    plan = plan_sync(pipeline(), list(reversed(pipeline())))
    assert plan.empty and plan.unchanged == 13


def test_new_tunnel_adds_its_table_0_flow_and_replaces_the_flood_in_place():
    plan = plan_sync(pipeline((8, 9)), pipeline((8,)))
    assert texts(plan.add) == [
        'cookie=0x79, table=0, priority=1,in_port=9 actions=resubmit(,4)',
        'cookie=0x79, table=22, dl_vlan=12 actions=strip_vlan,set_tunnel:0x22,output:8,output:9']
    assert plan.delete == () and plan.unchanged == 12


def test_removed_tunnel_deletes_its_table_0_flow():
    plan = plan_sync(pipeline((8,)), pipeline((8, 9)))
    assert texts(plan.delete) == ['cookie=0x79, table=0, priority=1,in_port=9 '
                                  'actions=resubmit(,4)']
    assert texts(plan.add) == ['cookie=0x79, table=22, dl_vlan=12 '
                               'actions=strip_vlan,set_tunnel:0x22,output:8']


def test_changed_local_vlan_adds_new_entries_and_deletes_the_old_ones():
    plan = plan_sync(pipeline(vpcs=(Vpc(0x22, 13),)), pipeline())
    assert [f.table for f in plan.add] == [4, 22] and [f.table for f in plan.delete] == [22]
    assert 'dl_vlan=12' in text.render(plan.delete[0])


def test_a_stray_flow_of_ours_is_deleted():
    stray = Flow(table=30, priority=3, match=Match(in_port=5), actions=(Output(1),),
                 cookie=0x79)
    plan = plan_sync(pipeline(), pipeline() + [stray])
    assert plan.add == () and plan.delete == (stray,)
