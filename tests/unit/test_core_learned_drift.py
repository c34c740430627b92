"""Learned flows behind a reused ofport, and drift repair, on the in-memory br-tun.

The sequences of issue 10 as the core sees them: the controller away while a tunnel goes
and another takes its ofport; both port events inside one sync; flows deleted, changed or
added with our cookie behind the controller's back.
"""
from fakeoftable import Packet
from test_core_churn import LOCAL, ME_IP, NODE2_IP, NODE3_IP, PATCH, TUN2, TUN3, Node, mac
from ryu_vxlan_vpc.config import Settings
from ryu_vxlan_vpc.core.intent import from_settings
from ryu_vxlan_vpc.flows.model import Flow, FlowStats, Match, Output
from ryu_vxlan_vpc.flows.mods import AddFlow, DeleteStrict
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.pipeline.learned import output_port, stale_learned_flows

FILE = Settings(ME_IP, (NODE2_IP, NODE3_IP), (Vpc(0x22, 12),))
INTENT = from_settings(FILE)


def ports(**tunnels):
    return dict({'br-tun': LOCAL, 'patch-int': PATCH}, **tunnels)


def learned_flow(port, dst=mac(1)):
    return Flow(20, 1, Match(vlan_tci=(12, 0x0fff), dl_dst=dst), (Output(port),),
                cookie=FILE.learn_cookie, hard_timeout=300)


# --- the rule -------------------------------------------------------------------------

def test_a_learned_flow_older_than_its_port_or_without_a_tunnel_is_stale():
    young, old, orphan = learned_flow(8, mac(1)), learned_flow(8, mac(2)), learned_flow(7)
    found = stale_learned_flows([FlowStats(young, 4, 0), FlowStats(old, 11, 0),
                                 FlowStats(orphan, 1, 0)], {8: 10.0})
    assert found == (DeleteStrict(old), DeleteStrict(orphan))


def test_a_learned_flow_as_old_as_its_port_is_kept():
    # Read flows first, ports second: a valid flow is never older than its port.
    assert stale_learned_flows([FlowStats(learned_flow(8), 10, 0)], {8: 10.0}) == ()


# --- sequences ------------------------------------------------------------------------

def test_restart_after_another_tunnel_took_the_ofport_forgets_macs_learned_before():
    old = Node(FILE, INTENT, ports=ports(**{TUN2: 8}))
    old.sync()
    old.learn(8, 0x22, mac(1))                     # learned behind compute2
    old.table.expire(30)
    # Down: compute2's tunnel removed, compute3's made; OVS hands it ofport 8 again.
    new = Node(FILE, INTENT, ports=ports(**{TUN3: 8}), table=old.table,
               born={8: old.table.now})
    old.table.expire(5)
    plan = new.sync()
    assert plan.add == () and plan.delete == ()    # tables 0 and 22 look the same
    assert [(type(d), d.flow.match.dl_dst, output_port(d.flow)) for d in plan.forget] == \
        [(DeleteStrict, mac(1), 8)]
    assert new.learned() == []
    # A MAC learned behind the new tunnel is younger than it: the next sync keeps it.
    new.learn(8, 0x22, mac(2))
    new.table.expire(1)
    assert new.sync().empty
    assert new.learned() == [(12, mac(2), 0x22, 8)]


def test_tunnel_swapped_on_one_ofport_between_two_syncs_forgets_the_old_macs():
    node = Node(FILE, INTENT, ports=ports(**{TUN2: 8}))
    node.sync()
    node.learn(8, 0x22, mac(1))
    node.table.expire(10)
    # Both port events arrive before the sync runs (the app coalesces them).
    node.core.port_changed(node.dpid, TUN2, None)
    node.core.port_changed(node.dpid, TUN3, 8)
    node.born[8] = node.table.now
    node.table.expire(0.5)
    plan = node.sync()
    assert [type(d).__name__ for d in plan.forget] == ['DeleteStrict']
    assert node.learned() == []


def test_a_mac_learned_after_its_tunnel_went_is_forgotten_at_the_next_sync():
    node = Node(FILE, INTENT, ports=ports(**{TUN2: 8, TUN3: 9}))
    node.sync()
    node.port(TUN2, None)                          # table 0 forgets in_port=8 ...
    # ... and a packet already in the datapath learns behind ofport 8 right after.
    node.table.apply(AddFlow(learned_flow(8, mac(3))))
    node.table.expire(1)
    assert node.sync().forget == (DeleteStrict(learned_flow(8, mac(3))),)
    assert node.learned() == []


def test_a_valid_learned_flow_survives_restarts():
    node = Node(FILE, INTENT, ports=ports(**{TUN2: 8}))
    node.sync()
    node.table.expire(3)
    node.learn(8, 0x22, mac(1))
    node.table.expire(100)
    node.learn(8, 0x22, mac(1))                    # refreshed: keeps its creation time
    again = Node(FILE, INTENT, ports=ports(**{TUN2: 8}), table=node.table)
    assert again.sync().empty
    assert again.learned() == [(12, mac(1), 0x22, 8)]


# --- drift ------------------------------------------------------------------------------

def test_flows_deleted_or_changed_behind_our_back_are_restored_and_counted():
    node = Node(FILE, INTENT, ports=ports(**{TUN2: 8}))
    first = node.sync()
    assert first.repaired == ()                    # the first sync of a connection
    flood = next(f for f in node.table.flows(table=22))
    resubmit = next(f for f in node.table.flows(table=2) if f.priority == 0)
    node.table.apply(DeleteStrict(flood))          # ovs-ofctl del-flows br-tun table=22
    changed = Flow(resubmit.table, resubmit.priority, resubmit.match, (),
                   cookie=resubmit.cookie)         # same entry, actions dropped
    node.table.apply(AddFlow(changed))
    foreign = Flow(3, 5, Match(in_port=7), (), cookie=FILE.flow_cookie)
    node.table.apply(AddFlow(foreign))             # someone else used our cookie
    plan = node.sync()
    assert set(plan.repaired) == {flood, resubmit, foreign}
    assert set(plan.add) == {flood, resubmit} and plan.delete == (foreign,)
    assert node.sync().empty
    assert sorted(node.table.flows(cookie=FILE.flow_cookie), key=repr) == \
        sorted(first.desired, key=repr)


def test_an_intended_change_is_not_drift():
    node = Node(FILE, INTENT, ports=ports(**{TUN2: 8}))
    node.sync()
    node.port(TUN3, 9)                             # a new tunnel: tables 0 and 22 change
    assert node.plans[-1].add and node.plans[-1].repaired == ()
    node.port(TUN2, None)
    assert node.plans[-1].delete and node.plans[-1].repaired == ()
    trace = node.table.process(Packet(mac(5), 'ff:ff:ff:ff:ff:ff', vlan=12), in_port=PATCH)
    assert trace.ports == [9]
