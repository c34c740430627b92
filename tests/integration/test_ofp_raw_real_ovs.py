"""wire.py and flowstats_raw against a real ovs-vswitchd, speaking OpenFlow 1.3 ourselves.

The pipeline goes in as wire.py's bytes in one ONF bundle over br-tun's management socket;
OVS's learn() writes learned flows (ofproto/trace -generate); ovs-ofctl adds foreign flows
with masks, registers, resubmit, goto_table and other instructions. Then the raw
OFPMP_FLOW replies are read from the same socket and decoded twice: by flowstats_raw and
by Ryu's parser + decode.py (hook not installed). Both must agree entry for entry, the
pipeline must read back as exactly the flows we sent, and our rendering must equal
ovs-ofctl's dump-flows for the flows the renderer covers (ours and learned ones).
"""
import struct
import types

import pytest
from ryu.ofproto import ofproto_parser
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from article_node import add_vxlan, build_article_br_tun
from ryu_vxlan_vpc.flows import mods, text
from ryu_vxlan_vpc.flows import model as m
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.flows.rows import FlowRows
from ryu_vxlan_vpc.ofp import decode, flowstats_raw, rawconn, rows_read, rows_wire, wire
from ryu_vxlan_vpc.pipeline import br_tun
from ryu_vxlan_vpc.pipeline.sync import plan_sync

DP = types.SimpleNamespace(ofproto=ofp, ofproto_parser=parser)
FLAGS = ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED
VPCS = tuple(Vpc(0x1000 + i, 1 + i) for i in range(300))
ROUTES = tuple(br_tun.RemoteRoute(vpc.vni, '0c:eb:1e:%02x:%02x:%02x' % (i >> 8, i & 0xff, j),
                                  '10.%d.%d.%d' % (i >> 8, i & 0xff, j + 1), 8 + j % 2)
               for i, vpc in enumerate(VPCS) for j in range(4))
STATE = br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=(8, 9), vpcs=VPCS,
                          l2_population=True, arp_responder=True, remote_ports=ROUTES)
FOREIGN = [  # ovs-ofctl -O OpenFlow13 syntax; none of it is ours
    'table=30,priority=5,reg3=0x5/0xff,ip,nw_src=10.0.0.0/8,idle_timeout=60,'
    'actions=load:0x1->NXM_NX_REG0[],resubmit(,31),goto_table:40',
    'table=31,tcp,tp_dst=80,in_port=LOCAL,send_flow_rem,'
    'actions=move:NXM_NX_REG0[]->NXM_NX_REG1[],resubmit(3,32),note:01.02,output:NORMAL',
    'table=32,reg0=7,metadata=0x5/0xff,dl_src=0c:eb:1e:00:00:00/ff:ff:ff:00:00:00,'
    'actions=clear_actions,write_metadata:0x10/0xff',
    'table=33,ipv6,ipv6_src=fe80::1,actions=dec_ttl,controller:128,ct(commit)',
    'table=34,arp,arp_tpa=10.0.0.0/24,dl_vlan=5,actions=set_field:2->arp_op,'
    'push_vlan:0x88a8,set_field:4101->vlan_vid,set_tunnel64:0x10000000000,output:8',
    'table=35,tun_id=0x22/0xff,vlan_tci=0x1000/0x1000,'
    'actions=strip_vlan,learn(table=36,NXM_NX_REG2[0..15]=0x1234,output:NXM_NX_REG4[0..15])',
    'table=36,hard_timeout=100,actions=write_actions(output:2)',
    'table=37,ct_state=+trk,ct_zone=5,tun_src=172.21.12.8,actions=drop',
    'table=38,cookie=0x5,priority=9,in_port=8,dl_dst=0c:eb:1e:00:00:01,'
    'actions=resubmit:2,resubmit(,2)',
]
LEARNED = [(8, VPCS[0], '0c:eb:1e:c1:ff:01'), (9, VPCS[1], '0c:eb:1e:c1:ff:02'),
           (8, VPCS[299], '0c:eb:1e:c1:ff:03')]


def learned_flow(port, vpc, mac):
    """What table 10's learn() writes, in our model (see the article)."""
    return m.Flow(table=20, priority=1, match=m.Match(vlan_tci=(vpc.local_vlan, 0xfff),
                                                      dl_dst=mac),
                  actions=(m.Load(0, br_tun.VLAN_TCI), m.Load(vpc.vni, br_tun.TUN_ID),
                           m.Output(port)),
                  cookie=STATE.learn_cookie, hard_timeout=STATE.learn_hard_timeout)


@pytest.fixture
def bridge(node):
    """br-tun with the pipeline sent as wire.py bytes, foreign and learned flows; yields
    (node, the pipeline's flows, the raw OFPMP_FLOW reply messages)."""
    build_article_br_tun(node)
    add_vxlan(node, 'vxlan-02', '172.21.12.9', ofport=9)
    flows = br_tun.build(STATE)
    with rawconn.RawConnection(node.mgmt('br-tun')) as conn:
        opened = conn.request(rawconn.bundle_ctrl(conn.next_xid(), 7,
                                                  ofp.ONF_BCT_OPEN_REQUEST, FLAGS))
        xids = [conn.next_xid() for _ in flows]
        conn.send(wire.bundle_bytes([mods.AddFlow(f) for f in flows], 7, FLAGS, xids))
        # An error for any bundled FlowMod arrives before this reply and raises.
        committed = conn.request(rawconn.bundle_ctrl(conn.next_xid(), 7,
                                                     ofp.ONF_BCT_COMMIT_REQUEST, FLAGS))
        assert [struct.unpack_from('!H', msg, 20)[0] for msg in (opened, committed)] == [
            ofp.ONF_BCT_OPEN_REPLY, ofp.ONF_BCT_COMMIT_REPLY]  # bundle control type
        for line in FOREIGN:
            node.ofctl('add-flow', 'br-tun', line, protocol='OpenFlow13')
        for port, vpc, mac in LEARNED:
            node.appctl('ofproto/trace', 'br-tun', 'in_port=%d,tun_id=%#x,dl_src=%s,'
                        'dl_dst=ff:ff:ff:ff:ff:ff' % (port, vpc.vni, mac), '-generate')
        replies = conn.multipart(rawconn.flow_stats_request(conn.next_xid()))
    return node, flows, replies


def ryu_flow_stats(reply):
    version, msg_type, msg_len, xid = ofproto_parser.header(reply)
    msg = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, reply)
    assert type(msg) is parser.OFPFlowStatsReply  # Ryu's own class: no hook installed
    return [decode.flow_stats(stats) for stats in msg.body]


def test_raw_decoding_equals_ryus_on_a_real_dump(bridge):
    node, flows, replies = bridge
    assert not flowstats_raw.installed()
    assert len(replies) > 1  # OVS split the dump: REPLY_MORE handled
    mine = [s for reply in replies for s in flowstats_raw.iter_flow_stats(reply[16:])]
    ryus = [s for reply in replies for s in ryu_flow_stats(reply)]
    assert len(mine) == len(flows) + len(FOREIGN) + len(LEARNED) > 2500
    assert mine == ryus  # entry for entry, counters and durations included
    # Our flows read back exactly as sent (what a no-op resync relies on).
    ours = {s.flow for s in mine if s.flow.cookie == STATE.flow_cookie}
    assert ours == set(flows)
    learned = {s.flow for s in mine if s.flow.cookie == STATE.learn_cookie}
    assert learned == {learned_flow(*args) for args in LEARNED}
    foreign = [s.flow for s in mine if s.flow.table >= 30]
    assert any(f.match.other for f in foreign)
    assert m.Opaque('goto_table:40') in foreign[0].actions


@pytest.mark.parametrize('dialect, protocol', [('of13', 'OpenFlow13'), ('ofctl', None)])
def test_rendered_like_ovs_ofctl(bridge, dialect, protocol):
    node, flows, replies = bridge
    mine = [s.flow for reply in replies for s in flowstats_raw.iter_flow_stats(reply[16:])]
    covered = (STATE.flow_cookie, STATE.learn_cookie)  # foreign actions print as Ryu names

    def ours(lines):
        return sorted(line for line in lines if line.split(',')[0] in {
            'cookie=%#x' % cookie for cookie in covered})
    dumped = ours(text.parse_dump(node.ofctl('dump-flows', 'br-tun', protocol=protocol)))
    assert len(dumped) == len(flows) + len(LEARNED)
    assert ours(text.render(f, dialect) for f in mine) == dumped


def test_hook_hands_the_raw_body_to_the_handler(bridge):
    _, _, replies = bridge
    flowstats_raw.install()
    try:
        for reply in replies:
            version, msg_type, msg_len, xid = ofproto_parser.header(reply)
            msg = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, reply)
            assert type(msg) is flowstats_raw.OFPFlowStatsReply
            assert bytes(msg.raw_body) == reply[16:] and msg.xid == xid
            assert msg.flags == (0 if reply is replies[-1] else ofp.OFPMPF_REPLY_MORE)
    finally:
        flowstats_raw.uninstall()


def test_rows_are_recognised_by_their_bytes_without_decoding(bridge):
    """What a sync's read relies on: every pipeline flow's entry is exactly what
    rows_wire.reported_entry says this OVS sends, and the reader takes every row's entry
    by its bytes, so a no-op resync decodes none of the bulk (an entry it did not take would
    only cost speed: it would be decoded and compared as a Flow)."""
    node, flows, replies = bridge
    desired = br_tun.build_rows(STATE)
    families = [d for d in desired if isinstance(d, FlowRows)]
    assert sorted(len(f) for f in families) == [len(ROUTES)] * 2
    sent = set()   # each entry OVS sent, its counters zeroed
    for reply in replies:
        body = reply[16:]
        off = 0
        while off < len(body):
            e = body[off:off + struct.unpack_from('!H', body, off)[0]]
            sent.add(e[:4] + bytes(8) + e[12:32] + bytes(16) + e[48:])
            off += len(e)
    # Every flow of the pipeline, not only the rows: its entry as OVS reports it.
    assert all(rows_wire.reported_entry(f) in sent for f in flows)
    reader = rows_read.RowReader(rows_read.shapes(STATE.flow_cookie))
    rest = [s.flow for reply in replies
            for s in flowstats_raw.iter_flow_stats(reply[16:], None, reader)]
    assert len(reader) == 2 * len(ROUTES)
    matched, others = rows_read.resolve(
        reader, families, {f.shape: rows_read.row_bytes(f.shape, f.rows) for f in families})
    assert others == []
    assert {shape: len(rows) for shape, rows in matched.items()} == {
        f.shape: len(ROUTES) for f in families}
    ours = [f for f in rest if f.cookie == STATE.flow_cookie]
    assert sorted(ours, key=repr) == sorted(
        (f for f in desired if not isinstance(f, FlowRows)), key=repr)
    assert len(rest) == len(ours) + len(FOREIGN) + len(LEARNED)
    # And the plan made of that read is a no-op.
    plan = plan_sync(desired, ours, STATE.learn_cookie, matched=matched)
    assert plan.empty and plan.unchanged == len(flows)
