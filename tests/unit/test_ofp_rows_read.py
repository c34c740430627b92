"""rows_read: the bulk rows' entries are taken by their bytes, cut down to the row's values,
and only an entry that is exactly some row's flow is taken; the rest is decoded as usual.
tests/integration/test_ofp_raw_real_ovs.py reads what a real OVS sends."""
import random

import pytest

from rowgen import random_rows
from ryu_vxlan_vpc.flows.model import Flow, Output, SetTunnel, StripVlan
from ryu_vxlan_vpc.flows.rows import FlowRows
from ryu_vxlan_vpc.ofp import flowstats_raw, rows_read
from ryu_vxlan_vpc.ofp.rows_wire import reported_entry
from ryu_vxlan_vpc.pipeline.populated import ArpAnswer, UcastPopulated

COOKIE = 0x79
UCAST, ARP = rows_read.shapes(COOKIE)


def read(entries, shapes=(UCAST, ARP)):
    reader = rows_read.RowReader(shapes)
    rest = [s.flow for s in flowstats_raw.iter_flow_stats(b''.join(entries), None, reader)]
    return reader, rest


def test_the_shapes_are_the_pipelines():
    assert (type(UCAST), type(ARP)) == (UcastPopulated, ArpAnswer)
    assert UCAST.cookie == ARP.cookie == COOKIE


@pytest.mark.parametrize('shape', [UCAST, ARP], ids=lambda s: s.name)
def test_row_bytes_are_the_values_in_the_entry_ovs_sends(shape):
    rows = random_rows(shape, 300, seed=shape.name)
    packed = rows_read.row_bytes(shape, rows)
    layout = rows_read.layout(shape)
    for row, row_bytes in zip(rows, packed):
        entry = reported_entry(shape.flow(row))
        assert layout.cut(entry) == row_bytes
        assert layout.entry(row_bytes) == entry
        [stats] = flowstats_raw.iter_flow_stats(entry)   # decoded, the entry is the row's
        assert stats.flow == shape.flow(row)
    reader, rest = read([reported_entry(shape.flow(r)) for r in rows])
    assert rest == [] and reader.found_bytes(shape) == set(packed)
    assert len(reader) == len(set(rows))


def test_only_exact_row_entries_are_taken_the_rest_is_decoded():
    rows = random_rows(UCAST, 20, seed=1)
    vlan, mac, vni, port = rows[0]
    near = [  # in table 20 at priority 2 and with our cookie, but no row's flow
        Flow(20, 2, UCAST.flow(rows[0]).match, (StripVlan(), SetTunnel(vni)), COOKIE),
        Flow(20, 2, UCAST.flow(rows[0]).match, (StripVlan(), Output(port)), COOKIE),
        Flow(20, 2, UCAST.flow(rows[0]).match, (SetTunnel(vni), StripVlan(), Output(port)),
             COOKIE),
        Flow(20, 2, UCAST.flow(rows[0]).match, UCAST.flow(rows[0]).actions, COOKIE,
             idle_timeout=5),
        Flow(20, 3, UCAST.flow(rows[0]).match, UCAST.flow(rows[0]).actions, COOKIE),
        Flow(20, 2, UCAST.flow(rows[0]).match, UCAST.flow(rows[0]).actions, COOKIE + 1),
        Flow(21, 2, UCAST.flow(rows[0]).match, UCAST.flow(rows[0]).actions, COOKIE),
    ]
    entries = [reported_entry(UCAST.flow(r)) for r in rows[1:]] + [
        reported_entry(f) for f in near]
    random.Random(2).shuffle(entries)
    reader, rest = read(entries)
    assert sorted(rest, key=repr) == sorted(near, key=repr)
    assert reader.found_bytes(UCAST) == set(rows_read.row_bytes(UCAST, rows[1:]))
    assert reader.found_bytes(ARP) == set() and len(reader) == len(rows) - 1


@pytest.mark.parametrize('shape', [UCAST, ARP], ids=lambda s: s.name)
def test_a_changed_byte_is_either_another_rows_entry_or_decoded(shape):
    """Whatever byte of a row's entry changes (the counters aside), the reader takes it only
    with row bytes that rebuild exactly that entry (then ``resolve`` decodes it unless a
    wanted row packs to them), or leaves it to the decoder: nothing read is lost or
    mistaken. (An ARP answer's MAC changed in one of its two places is taken, and is no
    row's: its row bytes hold both copies.)"""
    rnd = random.Random(shape.name)
    layout = rows_read.layout(shape)
    taken = left = 0
    for row in random_rows(shape, 400, seed=9):
        entry = bytearray(reported_entry(shape.flow(row)))
        at = rnd.choice([i for i in range(len(entry)) if i not in rows_read._COUNTERS])
        entry[at] ^= 1 << rnd.randrange(8)
        reader = rows_read.RowReader((shape,))
        try:
            rest = list(flowstats_raw.iter_flow_stats(bytes(entry), None, reader))
        except ValueError:   # a length or header broken: the decoder refuses it
            rest = None
        if reader.found[shape]:
            [row_bytes] = reader.found_bytes(shape)
            assert layout.entry(row_bytes) == bytes(entry) and rest == []
            taken += 1
        else:
            left += 1
    assert taken > 20 and left > 50   # both sides of the property were exercised


@pytest.mark.parametrize('shape, row', [
    (UCAST, (5, 'FA:16:3E:00:00:01', 0x22, 3)), (UCAST, (4101, 'fa:16:3e:00:00:01', 1, 3)),
    (UCAST, (True, 'fa:16:3e:00:00:01', 1, 3)), (UCAST, (5, 'fa-16-3e-00-00-01', 1, 3)),
    (ARP, (5, '10.0.0.1', 'FA:16:3E:00:00:01')), (ARP, (4096, '10.0.0.1', 'fa:16:3e:00:00:01')),
    (ARP, (5, '10.0.0.01', 'fa:16:3e:00:00:01')), (ARP, (5, None, 'fa:16:3e:00:00:01')),
])
def test_rows_not_canonically_spelt_have_no_row_bytes(shape, row):
    """Decoded, their entry would give another row (OVS prints MACs in lower case; a VLAN
    id over 12 bits aliases a smaller one): these rows are never found by their bytes."""
    assert rows_read.row_bytes(shape, [row]) == [None]


def test_resolve_finds_wanted_rows_and_decodes_the_unwanted():
    rows = random_rows(UCAST, 30, seed=3)
    arps = random_rows(ARP, 10, seed=4)
    odd = (7, 'FA:16:3E:00:00:07', 9, 4)          # wanted, spelt so that it is never found
    installed = rows[:20] + [(odd[0], odd[1].lower()) + odd[2:]]
    reader, rest = read([reported_entry(UCAST.flow(r)) for r in installed] +
                        [reported_entry(ARP.flow(r)) for r in arps])
    assert rest == []
    families = [FlowRows(UCAST, tuple(rows[10:]) + (odd,))]   # no ARP answers wanted
    wanted = {f.shape: rows_read.row_bytes(f.shape, f.rows) for f in families}
    matched, others = rows_read.resolve(reader, families, wanted)
    assert matched == {UCAST: set(rows[10:20])}
    assert reader.found == {} and wanted == {}   # their bytes are let go
    assert sorted(others, key=repr) == sorted(
        [UCAST.flow(r) for r in rows[:10] + installed[-1:]] + [ARP.flow(r) for r in arps],
        key=repr)
