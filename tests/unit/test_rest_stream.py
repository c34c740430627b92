"""Streamed REST bodies (rest/stream.py): the same answer however the switch splits its
replies, valid JSON at the end, and an error after the first byte never looks whole."""
import json
import types

import pytest

from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.flows.model import (FieldRef, Flow, FlowStats, Load, Match, Opaque,
                                       Output)
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.pipeline.br_tun import BrTunState, RemoteRoute, build
from ryu_vxlan_vpc.rest import stream, views

SETTINGS = types.SimpleNamespace(flow_cookie=0x79, learn_cookie=0xa9eb8f9011f7e038)
STATE = BrTunState(
    patch_int_ofport=1, tunnel_ofports=(8, 9), vpcs=(Vpc(0x22, 1),),
    l2_population=True, arp_responder=True,
    remote_ports=(RemoteRoute(0x22, 'fa:16:3e:00:00:02', '192.168.10.12', 8),
                  RemoteRoute(0x22, 'fa:16:3e:00:00:03', None, 9)))
STATS = [FlowStats(f, i, 5, i * 2, i * 100) for i, f in enumerate(build(STATE))]
SWITCH = types.SimpleNamespace(dpid=0xabc, ports={'patch-int': 1, 'vxlan-ac150c08': 8,
                                                 'vxlan-ac150c09': 9})


def written(writer, switch, parts):
    """The parts as app.stream_flows(write=writer(switch)) gives them: written items."""
    w = writer(switch)
    return (w.write(part) for part in parts)


def split(stats, sizes):
    """The flows as reply parts of these sizes (an empty part included: OVS may send one)."""
    parts, at = [], 0
    for size in sizes:
        parts.append(stats[at:at + size])
        at += size
    return parts + [stats[at:]]


@pytest.mark.parametrize('sizes', [(), (1,), (3, 0, 5), (len(STATS),)])
def test_text_is_the_listing_however_the_replies_are_split(sizes):
    body = b''.join(stream.flows_text(
        [(SWITCH, written(stream.text_writer, SWITCH, split(STATS, sizes)))], many=False)).decode()
    assert body == ''.join(' %s\n' % text.render_stats(s) for s in STATS)


def test_text_of_several_switches_names_each():
    other = types.SimpleNamespace(dpid=0x1, ports={})
    body = b''.join(stream.flows_text(
        [(SWITCH, written(stream.text_writer, SWITCH, [STATS[:2]])),
         (other, written(stream.text_writer, other, [STATS[2:3]]))],
        many=True)).decode().splitlines()
    assert body[0] == 'dpid=0000000000000abc:' and body[3] == 'dpid=0000000000000001:'
    assert len(body) == 5


@pytest.mark.parametrize('sizes', [(), (2, 0, 7), (len(STATS),)])
def test_json_is_one_document_with_its_count(sizes):
    body = json.loads(b''.join(stream.flows_json(
        [(SWITCH, written(stream.json_writer, SWITCH, split(STATS, sizes)))])))
    assert body == {'flows': [views.flow_view(SWITCH.dpid, s) for s in STATS],
                    'count': len(STATS)}


def test_json_of_nothing():
    assert json.loads(b''.join(stream.flows_json(
        [(SWITCH, written(stream.json_writer, SWITCH, [[]]))]))) == {'flows': [], 'count': 0}


def test_macs_are_the_table_20_entries():
    body = json.loads(b''.join(stream.macs_json(
        [(SWITCH, written(stream.macs_writer(SETTINGS), SWITCH, split(STATS, (4, 4))))])))
    assert body['count'] == 2 == len(body['macs'])
    assert [(m['mac'], m['source'], m['vni_hex'], m['tunnel_port']['name']) for m in body['macs']] \
        == [('fa:16:3e:00:00:02', 'registry', '0x22', 'vxlan-ac150c08'),
            ('fa:16:3e:00:00:03', 'registry', '0x22', 'vxlan-ac150c09')]
    assert all(m['dpid'] == '0000000000000abc' for m in body['macs'])


def test_an_error_after_the_first_part_raises_and_leaves_no_whole_document():
    def parts():
        yield STATS[:3]
        raise ConnectionError('switch 0000000000000abc disconnected')
    chunks, body = [], stream.flows_json([(SWITCH, written(stream.json_writer, SWITCH,
                                                           parts()))])
    with pytest.raises(ConnectionError):
        for chunk in body:
            chunks.append(chunk)
    with pytest.raises(json.JSONDecodeError):
        json.loads(b''.join(chunks))
    assert len(chunks) == 2   # the opening and the first part went out, nothing after


def test_json_items_are_written_exactly_as_the_view_dicts_encode():
    """flows_json writes each item from a template; it must be the JSON of
    views.flow_view to the character (keys sorted), for every kind of flow."""
    odd = [
        Flow(30, 5, Match(other=(('reg3', (5, 0xff)), ('ipv4_src', ('10.0.0.0', '255.0.0.0')))),
             (Opaque('goto_table:40'), Opaque('note:é"\\')), cookie=0, idle_timeout=60,
             hard_timeout=7, flags=('send_flow_rem', 'no_byte_counts')),
        Flow(20, 1, Match(vlan_tci=(1, 0xfff), dl_dst='fa:16:3e:00:00:09'),
             (Load(0, FieldRef('NXM_OF_VLAN_TCI')), Output(8)), cookie=1 << 63,
             hard_timeout=300),
        Flow(0, 0, Match(), ()),
    ]
    stats = STATS + [FlowStats(f, 123456, 999999999, 1 << 40, 1 << 50) for f in odd]
    for dpid in (0xabc, 0xffffffffffffffff):
        for s in stats:
            assert stream._flow_item(stream._STR('%016x' % dpid), s) == \
                stream._line(views.flow_view(dpid, s))
