"""rows_wire: one pack per row gives the bytes wire.py (and so Ryu) gives per Flow, also for
rows spelt in ways only Ryu reads (one Flow at a time then). Reading rows back:
test_ofp_rows_read.py."""
import types

import pytest
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from rowgen import random_rows
from ryu_vxlan_vpc.flows import mods
from ryu_vxlan_vpc.ofp import batches, encode, rows_wire, wire
from ryu_vxlan_vpc.pipeline.populated import ArpAnswer, UcastPopulated

DP = types.SimpleNamespace(ofproto=ofp, ofproto_parser=parser)
FLAGS = ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED
UCAST, ARP = UcastPopulated(0x79), ArpAnswer(0xfedcba9876543210)


def ryu_bytes(flow, xid):
    msg = encode.flow_mod(DP, mods.AddFlow(flow))
    msg.xid = xid
    msg.serialize()
    return bytes(msg.buf)


@pytest.mark.parametrize('shape', [UCAST, ARP], ids=lambda s: s.name)
def test_row_bytes_equal_wire_and_ryu_per_flow(shape):
    rows = random_rows(shape, 300, seed=shape.name)
    xids = list(range(100, 400))
    flows = [shape.flow(row) for row in rows]
    assert rows_wire.add_bytes(shape, rows, xids) == wire.flow_mods_bytes(
        [mods.AddFlow(f) for f in flows], xids)
    assert rows_wire.add_bytes(shape, rows, xids, 9, FLAGS) == wire.bundle_bytes(
        [mods.AddFlow(f) for f in flows], 9, FLAGS, xids)
    assert rows_wire.add_bytes(shape, rows[:20], xids[:20]) == b''.join(
        ryu_bytes(f, x) for f, x in zip(flows[:20], xids))


def test_rows_it_cannot_pack_fall_back_to_one_flow_at_a_time():
    odd = (5, 'FA-16-3E-00-00-01', 0x22, 3)   # a spelling only Ryu's converter reads
    with pytest.raises(ValueError):
        rows_wire.add_bytes(UCAST, [odd], [1])
    rows = random_rows(UCAST, 5, seed=4)
    mixed = [mods.AddRows(UCAST, tuple(rows[:2]) + (odd,) + tuple(rows[2:]))]
    flows = [UCAST.flow(r) for r in rows[:2] + [odd] + rows[2:]]
    xids = list(range(1, 7))
    assert batches.encoded(DP, mixed, 4, xids) == b''.join(
        wire.bundle_add_bytes(4, FLAGS, ryu_bytes(f, x), x) for f, x in zip(flows, xids))


def test_chunks_cut_rows_at_the_chunk_size():
    rows = tuple(random_rows(ARP, 9, seed=5))
    first = mods.AddFlow(ARP.flow(rows[0]))
    parts = list(batches.chunks([first, mods.AddRows(ARP, rows), first], 4))
    assert [batches.count(p) for p in parts] == [4, 4, 3]
    flat = [f for p in parts for m in p
            for f in (m.flows() if isinstance(m, mods.AddRows) else [m])]
    assert flat == [first] + [mods.AddFlow(ARP.flow(r)) for r in rows] + [first]
    xids = list(range(1, 12))
    at, got = 0, b''
    for part in parts:
        n = batches.count(part)
        got += batches.encoded(DP, part, None, xids[at:at + n])
        at += n
    assert got == wire.flow_mods_bytes(flat, xids)


def test_xids_in_flight_are_runs_even_across_the_wrap():
    xids = batches.XidRanges(0xffffffff)
    xids.add([0xfffffffe, 0xffffffff, 0, 1])
    xids.add(list(range(100, 2100)))
    xids.add([])
    assert all(x in xids for x in (0xfffffffe, 0xffffffff, 0, 1, 100, 2099))
    assert not any(x in xids for x in (0xfffffffd, 2, 99, 2100, 1 << 31))
