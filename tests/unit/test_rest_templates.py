"""rest/templates.py writes every entry exactly as the generic path does (decode, then
stream._flow_item or the text line), whichever entries get templates, in whatever order and
parts the switch sends them; and the templates are really used."""
import random
import struct
import types

import pytest

from ryu_vxlan_vpc.flows.model import FieldRef, Flow, Load, Match, Output, SetField
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.ofp import flowstats_raw
from ryu_vxlan_vpc.ofp.rows_wire import reported_entry
from ryu_vxlan_vpc.pipeline.br_tun import BrTunState, RemoteRoute, build
from ryu_vxlan_vpc.rest import stream
from ryu_vxlan_vpc.rest.templates import Templates

LEARN_COOKIE = 0xa9eb8f9011f7e038
SETTINGS = types.SimpleNamespace(flow_cookie=0x79, learn_cookie=LEARN_COOKIE)
WRITERS = {'text': stream._text_line,
           'json': lambda s, *a: stream._flow_item(stream._STR('0000000000000abc'), s, *a),
           'macs': lambda s, *a: stream._mac_item(SETTINGS, {2: 'vxlan-ac150c08', 3: 'x'},
                                                  '0000000000000abc', s, *a)}


def mac(rnd):
    return ':'.join('%02x' % rnd.randrange(256) for _ in range(6))


def kinds(rnd):
    """One random flow of each kind: learned, l2population, with both MACs, a masked MAC,
    no MAC, a MAC set by an action (not a match field)."""
    vlan, port = rnd.randrange(1, 4), rnd.randrange(2, 5)
    return [
        Flow(20, 1, Match(vlan_tci=(vlan, 0xfff), dl_dst=mac(rnd)),
             (Load(0, FieldRef('NXM_OF_VLAN_TCI')), Load(0x22, FieldRef('NXM_NX_TUN_ID')),
              Output(port)), LEARN_COOKIE, hard_timeout=300),
        Flow(20, 2, Match(dl_vlan=vlan, dl_dst=mac(rnd)), (Output(port),), 0x79),
        Flow(5, 7, Match(dl_src=mac(rnd), dl_dst=mac(rnd)), (Output(port),), 0x79,
             idle_timeout=rnd.choice([0, 10])),
        Flow(5, 8, Match(dl_dst=(mac(rnd), 'ff:ff:ff:00:00:00')), (Output(port),), 0x79),
        Flow(5, 9, Match(in_port=port), (SetField('eth_src', mac(rnd)), Output(1)), 0x79),
    ]


def entry(flow, rnd):
    """OVS's entry for ``flow`` with random counters."""
    raw = bytearray(reported_entry(flow))
    struct.pack_into('!II', raw, 4, rnd.choice([0, 1, rnd.randrange(1 << 32)]),
                     rnd.choice([0, 999999999, rnd.randrange(10 ** 9)]))
    struct.pack_into('!QQ', raw, 32, rnd.choice([0, rnd.randrange(1 << 64)]),
                     rnd.choice([0, 1 << 63, rnd.randrange(1 << 40)]))
    return bytes(raw)


def generic(item, body):
    items = (item(s) for s in flowstats_raw.iter_flow_stats(body))
    return [i for i in items if i is not None]


@pytest.mark.parametrize('kind', sorted(WRITERS))
@pytest.mark.parametrize('seed', range(6))
def test_templates_write_what_the_generic_path_writes(kind, seed):
    rnd = random.Random(seed)
    pipeline = build(BrTunState(
        patch_int_ofport=1, tunnel_ofports=(8, 9), vpcs=(Vpc(0x22, 1), Vpc(0x23, 2)),
        l2_population=True, arp_responder=True,
        remote_ports=tuple(RemoteRoute(rnd.choice([0x22, 0x23]), mac(rnd), '10.0.0.%d' % i,
                                       rnd.choice([8, 9])) for i in range(1, 40))))
    flows = pipeline + [f for _ in range(60) for f in kinds(rnd)]
    entries = [entry(f, rnd) for f in flows]
    rnd.shuffle(entries)
    writer = Templates(WRITERS[kind])
    got, at = [], 0
    while at < len(entries):   # parts as a switch may cut them
        n = rnd.randrange(1, 40)
        got += writer.write(b''.join(entries[at:at + n]))
        at += n
    assert got == generic(WRITERS[kind], b''.join(entries))
    assert writer.filled > len(entries) // 4   # the learned and l2population ones, mostly


def test_an_action_that_prints_a_tilde_is_written_generically():
    """A template is cut at '~' placeholders: real output holding '~' gets none."""
    item = WRITERS['json']
    rnd = random.Random(1)
    flows = [Flow(7, 1, Match(dl_dst=mac(rnd)), (Output(2),), 0x79) for _ in range(5)]
    writer = Templates(lambda s, *a: item(s, *a).replace('"table"', '"~table~"'))
    body = b''.join(entry(f, rnd) for f in flows)
    assert writer.write(body) == [i.replace('"table"', '"~table~"')
                                  for i in generic(item, body)]
    assert writer.filled == 0


def test_decoded_parts_and_malformed_bodies_are_the_generic_paths():
    rnd = random.Random(2)
    writer = Templates(WRITERS['text'])
    stats = list(flowstats_raw.iter_flow_stats(entry(kinds(rnd)[0], rnd)))
    assert writer.write(stats) == [WRITERS['text'](s) for s in stats]
    body = b''.join(entry(f, rnd) for f in kinds(rnd))
    with pytest.raises(ValueError):
        writer.write(body + b'\x00\x09' + bytes(7))   # an entry of length 9


@pytest.mark.parametrize('kind', sorted(WRITERS))
def test_a_mac_table_is_written_from_one_template(kind):
    """100 learned MACs of one VLAN and tunnel: one skeleton. Past the first entry,
    every one comes from the template (a template whose counters were filled wrong would
    be refused when made, and this would see generic writing instead)."""
    rnd = random.Random(kind)
    flows = [Flow(20, 1, Match(vlan_tci=(3, 0xfff), dl_dst=mac(rnd)),
                  (Load(0, FieldRef('NXM_OF_VLAN_TCI')), Load(0x22, FieldRef('NXM_NX_TUN_ID')),
                   Output(2)), LEARN_COOKIE, hard_timeout=300) for _ in range(100)]
    body = b''.join(entry(f, rnd) for f in flows)
    writer = Templates(WRITERS[kind])
    assert writer.write(body) == generic(WRITERS[kind], body)
    assert writer.filled == 99   # the first is written generically, once
