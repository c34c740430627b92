"""The in-memory flow table: FlowMods applied as OVS applies them, packets traced as OVS
forwards them, learn() included, on the article's br-tun pipeline."""
import pathlib

import pytest

from fakeoftable import FakeOFTable, InvalidMod, Packet, ResubmitLoop
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.flows.model import Flow, Match, Output, Resubmit
from ryu_vxlan_vpc.flows.mods import AddFlow, DeleteFlows, DeleteStrict
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.pipeline import br_tun

DATA = pathlib.Path(__file__).parent / 'data'
LEARN_COOKIE = 0xa9eb8f9011f7e038
MAC_A = 'fa:16:3e:00:00:0a'   # a VM behind a tunnel
MAC_B = 'fa:16:3e:00:00:0b'   # a local VM, on br-int
MAC_C = 'fa:16:3e:00:00:0c'
BROADCAST = 'ff:ff:ff:ff:ff:ff'
# The learned flow as ovs-ofctl prints it (same wording as tests/e2e/labrun.LEARNED).
LEARNED = ('cookie=0xa9eb8f9011f7e038, table=20, hard_timeout=300, priority=1,'
           'vlan_tci=%#06x/0x0fff,dl_dst=%s actions=load:0->NXM_OF_VLAN_TCI[],'
           'load:%#x->NXM_NX_TUN_ID[],output:%d')


def table_for(tunnels=(8,), vpcs=(Vpc(0x22, 22),)):
    state = br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=tunnels, vpcs=vpcs)
    table = FakeOFTable()
    table.apply_all(AddFlow(flow) for flow in br_tun.build(state))
    return table


def from_tunnel(table, port, src, dst=MAC_B, vni=0x22):
    return table.process(Packet(src, dst, tun_id=vni), in_port=port)


def from_br_int(table, dst, vlan=22, src=MAC_B):
    return table.process(Packet(src, dst, vlan=vlan), in_port=1)


def test_read_back_equals_the_article_listing():
    table = table_for(tunnels=(7,))
    expected = text.parse_dump((DATA / 'article_compute2_dump_flows.txt').read_text())
    assert sorted(table.dump_text()) == sorted(expected)
    assert len(table.flows()) == 13 and table.n_mods == 13 and table.n_bundles == 0
    assert [f.table for f in table.flows(table=0)] == [0, 0, 0]
    assert table.flows(cookie=LEARN_COOKIE) == []


def test_packet_from_tunnel_is_delivered_tagged_and_learns_the_article_flow():
    table = table_for()
    trace = from_tunnel(table, 8, MAC_A)
    assert trace.outputs == [(1, Packet(MAC_A, MAC_B, vlan=22, tun_id=0x22))]
    assert [f.table for f in trace.hits] == [0, 4, 10]
    learned = table.flows(table=20, cookie=LEARN_COOKIE)
    assert learned == trace.learned
    assert [text.render(f) for f in learned] == [LEARNED % (22, MAC_A, 0x22, 8)]


def test_learned_unicast_goes_only_to_its_tunnel_untagged_with_the_vni():
    table = table_for(tunnels=(8, 9))
    from_tunnel(table, 8, MAC_A)
    trace = from_br_int(table, MAC_A)
    assert trace.outputs == [(8, Packet(MAC_B, MAC_A, vlan=None, tun_id=0x22))]
    assert [f.table for f in trace.hits] == [0, 2, 20]


@pytest.mark.parametrize('dst', [MAC_C, BROADCAST])
def test_unknown_unicast_and_broadcast_flood_to_every_tunnel(dst):
    table = table_for(tunnels=(8, 9))
    trace = from_br_int(table, dst)
    sent = Packet(MAC_B, dst, vlan=None, tun_id=0x22)
    assert trace.outputs == [(8, sent), (9, sent)]
    assert trace.hits[-1].table == 22


def test_other_vlan_and_unknown_vni_and_unknown_port_are_dropped():
    table = table_for()
    assert from_br_int(table, BROADCAST, vlan=99).outputs == []
    trace = from_tunnel(table, 8, MAC_A, vni=0x99)
    assert (trace.outputs, trace.learned) == ([], [])
    assert from_tunnel(table, 5, MAC_A).outputs == []      # not a tunnel of ours
    assert table.flows(cookie=LEARN_COOKIE) == []


def test_relearning_from_another_tunnel_replaces_the_flow():
    table = table_for(tunnels=(8, 9))
    from_tunnel(table, 8, MAC_A)
    from_tunnel(table, 9, MAC_A)
    assert table.dump_text(cookie=LEARN_COOKIE) == [LEARNED % (22, MAC_A, 0x22, 9)]


def test_delete_by_cookie_table_and_out_port_removes_only_that_learned_flow():
    table = table_for(tunnels=(8, 9))
    from_tunnel(table, 8, MAC_A)
    from_tunnel(table, 9, MAC_C)
    before = table.flows()
    table.apply(DeleteFlows(LEARN_COOKIE, table=20, out_port=8))
    assert table.dump_text(cookie=LEARN_COOKIE) == [LEARNED % (22, MAC_C, 0x22, 9)]
    assert len(table.flows()) == len(before) - 1


def test_out_port_ignores_the_port_a_learn_would_output_to():
    table = table_for()
    table.apply(DeleteFlows(0x79, out_port=1))   # only table 10 outputs to 1
    assert [f.table for f in table.flows() if f.table == 10] == []
    assert len(table.flows()) == 12


def test_delete_by_vlan_tci_removes_learned_flows_of_that_vlan_only():
    table = table_for(vpcs=(Vpc(0x22, 22), Vpc(0x33, 33)))
    from_tunnel(table, 8, MAC_A, vni=0x22)
    from_tunnel(table, 8, MAC_C, vni=0x33)
    n = len(table.flows())
    table.apply(DeleteFlows(LEARN_COOKIE, match=Match(vlan_tci=(22, 0x0fff))))
    assert table.dump_text(cookie=LEARN_COOKIE) == [LEARNED % (33, MAC_C, 0x33, 8)]
    assert len(table.flows()) == n - 1


def test_non_strict_delete_needs_a_match_at_least_as_specific():
    table = table_for()
    # The unicast half of the multicast bit: only table 2's unicast flow has it.
    table.apply(DeleteFlows(0x79, match=Match(dl_dst=br_tun.UNICAST)))
    assert [f.match.dl_dst for f in table.flows(table=2)] == [br_tun.MULTICAST]
    # dl_vlan=22 is vlan_tci=0x1016/0x1fff to OVS: a full-TCI match is more specific than
    # that flow, so it does not delete it; the same mask does.
    table.apply(DeleteFlows(0x79, match=Match(vlan_tci=0x1016)))
    assert len(table.flows(table=22)) == 2
    table.apply(DeleteFlows(0x79, match=Match(vlan_tci=(0x1016, 0x1fff))))
    assert [f.priority for f in table.flows(table=22)] == [0]   # only the drop is left
    table.apply(DeleteFlows(0x79))                     # empty match: every flow of the cookie
    assert table.flows() == []


def test_delete_strict_needs_the_cookie():
    table = table_for()
    flow = table.flows(table=0)[0]
    foreign = Flow(flow.table, flow.priority, flow.match, flow.actions, cookie=0x80)
    table.apply(DeleteStrict(foreign))
    assert flow in table.flows()
    table.apply(DeleteStrict(flow))
    assert flow not in table.flows() and len(table.flows()) == 12


def test_add_with_the_same_key_replaces_whatever_the_cookie():
    table = table_for()
    old = table.flows(table=20)[0]
    new = Flow(old.table, old.priority, old.match, (Output(3),), cookie=0x5)
    table.apply(AddFlow(new))
    assert table.flows(table=20) == [new] and len(table.flows()) == 13


def test_bundle_is_all_or_nothing():
    table = table_for()
    before, mods = table.flows(), table.n_mods
    extra = Flow(0, 7, Match(in_port=5), (Resubmit(4),), cookie=0x79)
    for bad in (Flow(255, 1, Match(), ()), Flow(0, 65536, Match(), ())):
        with pytest.raises(InvalidMod):
            table.apply_bundle([DeleteFlows(0x79), AddFlow(extra), AddFlow(bad)])
        assert table.flows() == before and table.n_bundles == 0 and table.n_mods == mods
    table.apply_bundle([DeleteFlows(0x79, table=3), AddFlow(extra)])
    assert table.n_bundles == 1 and table.n_mods == mods + 2
    assert extra in table.flows() and table.flows(table=3) == []
    assert from_tunnel(table, 5, MAC_A).ports == [1]


def test_resubmit_loop_is_stopped():
    table = FakeOFTable([Flow(0, 1, Match(), (Resubmit(1),)),
                         Flow(1, 1, Match(), (Resubmit(0),))])
    with pytest.raises(ResubmitLoop):
        table.process(Packet(MAC_A, MAC_B), in_port=1)


def test_output_to_the_input_port_is_skipped():
    table = FakeOFTable([Flow(0, 1, Match(), (Output(1), Output(2)))])
    assert table.process(Packet(MAC_A, MAC_B), in_port=1).ports == [2]


def test_learned_flow_hard_timeout_expires_and_relearning_restarts_it():
    table = table_for()
    from_tunnel(table, 8, MAC_A)
    assert table.expire(200) == []
    from_tunnel(table, 8, MAC_A)           # re-learned: the 300 s start again
    assert table.expire(200) == []
    gone = table.expire(100)
    assert [f.cookie for f in gone] == [LEARN_COOKIE]
    assert table.flows(cookie=LEARN_COOKIE) == [] and len(table.flows()) == 13
