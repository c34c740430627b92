"""The planner on rows (flows.rows) decides what the plain-Flow planner would.

Random churn of remote ports, tunnels and VPCs on a fake flow table: every sync is planned
from the rows -- with the read-back as entry bytes, rows recognised by their bytes as the
app does (ofp.rows_read), or all decoded -- and compared with a plain planner over Flows;
applied, the table must then hold exactly ``build(state)``. Plus the cases rows make
special: an entry of a wanted row's key holding other actions (replaced in place, never
deleted), flows in the rows' place that no row wants, drift in a row.
"""
import random

import pytest

from fakeoftable import FakeOFTable
from ryu_vxlan_vpc.flows.model import Match, Output
from ryu_vxlan_vpc.flows.mods import AddFlow, AddRows
from ryu_vxlan_vpc.flows.rows import FlowRows, FlowSeq, RowSets, expand, split
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.ofp import flowstats_raw, rows_read, rows_wire
from ryu_vxlan_vpc.pipeline.br_tun import BrTunState, RemoteRoute, build, build_rows
from ryu_vxlan_vpc.pipeline.populated import ArpAnswer, UcastPopulated
from ryu_vxlan_vpc.pipeline.sync import plan_sync

COOKIE = 0x79


def random_state(rnd):
    vpcs = tuple(Vpc(0x20 + i, 1 + rnd.randrange(6)) for i in rnd.sample(range(6), 3))
    vpcs = tuple({v.local_vlan: v for v in vpcs}.values())   # one VPC per VLAN
    tunnels = tuple(rnd.sample(range(5, 12), rnd.randrange(1, 5)))
    routes = tuple(RemoteRoute(rnd.choice([v.vni for v in vpcs] + [0x99]),
                               'fa:16:3e:00:00:%02x' % rnd.randrange(12),
                               rnd.choice([None, '10.0.0.%d' % rnd.randrange(1, 9)]),
                               rnd.choice(tunnels))
                   for _ in range(rnd.randrange(20)))
    return BrTunState(patch_int_ofport=1, tunnel_ofports=tunnels, vpcs=vpcs,
                      l2_population=rnd.random() < 0.8, arp_responder=rnd.random() < 0.8,
                      remote_ports=routes)


def reference_plan(wanted, installed, last):
    """What a resync must do, written plainly over Flows (the planner before rows):
    (adds, deletes, unchanged, repaired)."""
    have, keys = set(installed), {f.key for f in wanted}
    add = [f for f in wanted if f not in have]
    delete = [f for f in installed if f.key not in keys]
    repaired = ([] if last is None else
                [f for f in add if f in last] + [f for f in delete if f not in last])
    return add, delete, len(wanted) - len(add), repaired


def read_back(table, desired, by_bytes):
    """Our flows as a sync reads them: as entry bytes the way OVS reports them, the rows'
    entries taken by their bytes (ofp.rows_read) and the rest decoded; or all decoded."""
    installed = table.flows(cookie=COOKIE)
    if not by_bytes:
        return installed, None
    body = b''.join(rows_wire.reported_entry(f) for f in installed)
    reader = rows_read.RowReader(rows_read.shapes(COOKIE))
    rest = [s.flow for s in flowstats_raw.iter_flow_stats(body, None, reader)]
    families = split(desired)[1]
    matched, others = rows_read.resolve(
        reader, families, {f.shape: rows_read.row_bytes(f.shape, f.rows) for f in families})
    return rest + others, matched


@pytest.mark.parametrize('seed', range(40))
def test_random_churn_converges_as_with_plain_flows(seed):
    rnd = random.Random(seed)
    table, last = FakeOFTable(), None
    for _ in range(6):
        state = random_state(rnd)
        desired = build_rows(state)
        installed, matched = read_back(table, desired, by_bytes=rnd.random() < 0.5)
        plan = plan_sync(desired, installed, last_desired=last, matched=matched)
        add, delete, unchanged, repaired = reference_plan(
            build(state), table.flows(cookie=COOKIE), None if last is None else set(last))
        assert sorted(plan.add, key=repr) == sorted(add, key=repr)
        assert sorted(plan.delete, key=repr) == sorted(delete, key=repr)
        assert plan.unchanged == unchanged
        assert sorted(plan.repaired, key=repr) == sorted(repaired, key=repr)
        # What the app sends (wire_mods, rows as AddRows), each row's flow as added.
        table.apply_bundle(plan.mods())
        assert sorted(table.flows(cookie=COOKIE), key=repr) == sorted(build(state), key=repr)
        assert sorted(plan.desired, key=repr) == sorted(build(state), key=repr)
        last = plan.desired
        # Behind our back: a row's flow removed, a stray flow in the rows' place.
        rows = [f for f in split(desired)[1] if f.rows]
        if rows and rnd.random() < 0.5:
            family = rnd.choice(rows)
            gone = family.shape.flow(rnd.choice(family.rows))
            table._remove(gone)
            installed, matched = read_back(table, desired, by_bytes=True)
            again = plan_sync(desired, installed, last_desired=last, matched=matched)
            assert list(again.add) == [gone] and list(again.repaired) == [gone]


def ucast(vlan, mac, vni, port):
    return UcastPopulated(COOKIE).flow((vlan, mac, vni, port))


def state(routes):
    return BrTunState(patch_int_ofport=1, tunnel_ofports=(8, 9), vpcs=(Vpc(0x22, 1),),
                      l2_population=True, remote_ports=routes)


def test_an_entry_of_a_wanted_key_holding_other_actions_is_replaced_not_deleted():
    desired = build_rows(state((RemoteRoute(0x22, 'fa:16:3e:00:00:02', None, 8),)))
    smalls = split(desired)[0]
    wrong = ucast(1, 'fa:16:3e:00:00:02', 0x22, 9)        # same entry, old tunnel
    plan = plan_sync(desired, smalls + [wrong])
    assert list(plan.add) == [ucast(1, 'fa:16:3e:00:00:02', 0x22, 8)]
    assert plan.delete == ()


def test_flows_in_the_rows_place_that_no_row_wants_are_deleted():
    desired = build_rows(state((RemoteRoute(0x22, 'fa:16:3e:00:00:02', None, 8),)))
    smalls = split(desired)[0]
    gone = ucast(1, 'fa:16:3e:00:00:07', 0x22, 8)         # a port that left
    odd = gone.__class__(20, 2, Match(dl_vlan=1, dl_dst='fa:16:3e:00:00:02',
                                      in_port=3), (Output(8),), COOKIE)  # not the shape
    plan = plan_sync(desired, smalls + [gone, odd])
    assert set(plan.delete) == {gone, odd}
    assert list(plan.add) == [ucast(1, 'fa:16:3e:00:00:02', 0x22, 8)]


def test_rows_are_sent_as_rows_and_read_as_flows():
    desired = build_rows(state(tuple(RemoteRoute(0x22, 'fa:16:3e:00:00:%02x' % i, None, 8)
                                     for i in range(1, 4))))
    plan = plan_sync(desired, [])
    [rows] = [m for m in plan.wire_mods() if isinstance(m, AddRows)]
    assert len(rows) == 3 and len(plan.add) == len(expand(desired))
    assert plan.mods()[:len(plan.add_flows)] == [AddFlow(f) for f in plan.add_flows]
    assert FlowSeq([], [FlowRows(rows.shape, ())]) == () != plan.add
    assert FlowSeq([], [FlowRows(rows.shape, rows.rows)]) == [
        rows.shape.flow(r) for r in rows.rows]
    assert plan_sync(desired, expand(desired)).empty


def test_a_drift_check_after_a_few_adds_makes_no_set_of_all_rows():
    rows = tuple((1, 'fa:16:3e:00:%02x:%02x' % divmod(i, 256), 5, 2) for i in range(300))
    sets = RowSets([FlowRows(UcastPopulated(COOKIE), rows)])
    shape = UcastPopulated(COOKIE)
    few = [rows[7], (9, 'fa:16:3e:99:99:99', 5, 2), rows[250]]
    assert sets.among(shape, few) == [rows[7], rows[250]]
    assert sets._sets == {}                       # only the three were made a set
    assert sorted(sets.among(shape, rows + rows[:1])) == sorted(rows + rows[:1])
    assert set(sets._sets) == {shape}            # more rows asked about than listed
    assert sets.among(ArpAnswer(COOKIE), few) == []
