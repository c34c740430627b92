"""flowstats_raw decodes raw flow-stats bodies exactly as Ryu's parser + decode.py do.

Entries are built from bytes Ryu itself serialises (our FlowMods' match and instructions,
and foreign matches/instructions made of Ryu objects), wrapped in a multipart reply and
parsed by Ryu (``ofproto_parser.msg``, hook not installed) for the expected FlowStats.
Real OVS dumps are compared in tests/integration/test_ofp_raw_real_ovs.py.
"""
import dataclasses
import struct
import types

import pytest
from ryu.controller import ofp_event
from ryu.ofproto import ofproto_parser
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from ryu_vxlan_vpc.flows import mods
from ryu_vxlan_vpc.ofp import decode, encode, flowstats_raw, rawconn
from test_ofp_wire import all_mods, learned

DP = types.SimpleNamespace(ofproto=ofp, ofproto_parser=parser)


@pytest.fixture(autouse=True)
def ryu_parsing():
    """Each test starts and ends with Ryu's own flow-stats parsing."""
    flowstats_raw.uninstall()
    yield
    flowstats_raw.uninstall()


def entry(match_and_instructions, table=0, priority=0x8000, cookie=0, idle=0, hard=0,
          flags=0, counters=(0, 0, 0, 0)):
    """One ofp_flow_stats: the fixed part, then a serialised match + instructions."""
    dsec, dnsec, packets, nbytes = counters
    head = struct.pack(ofp.OFP_FLOW_STATS_0_PACK_STR, 48 + len(match_and_instructions),
                       table, dsec, dnsec, priority, idle, hard, flags, cookie, packets,
                       nbytes)
    return head + match_and_instructions


def from_flow(flow, n, flags=None):
    """An entry for one of our flows, with the bytes Ryu serialises for its FlowMod."""
    msg = encode.flow_add(DP, flow)
    msg.serialize()
    return entry(bytes(msg.buf[48:]), flow.table, flow.priority, flow.cookie,
                 flow.idle_timeout, flow.hard_timeout, flags=n % 32 if flags is None else flags,
                 counters=(n, n * 1000 % 10 ** 9, n * 3, n * 300))


def serialised(match, instructions):
    buf = bytearray()
    match.serialize(buf, 0)
    for inst in instructions:
        inst.serialize(buf, len(buf))
    return bytes(buf)


def apply(*actions):
    return parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, list(actions))


def foreign_entries():
    """What other tools may leave on a bridge: every kind of field and instruction."""
    match = parser.OFPMatch
    cases = [
        (match(in_port=0xfffffffe, eth_type=0x0800, ipv4_src=('10.0.0.0', '255.0.0.0'),
               ip_proto=6, tcp_dst=80, metadata=(0x5, 0xff)),
         [apply(parser.NXActionResubmit(in_port=3),
                parser.NXActionResubmitTable(in_port=3, table_id=5),
                parser.OFPActionOutput(0xfffffffa))]),
        (match(reg3=(0x5, 0xff), reg0=7, tun_ipv4_src='172.21.12.8', ct_state=(0x21, 0x21),
               xxreg0=1 << 100),
         [apply(parser.NXActionRegLoad(ofs_nbits=(4 << 6) | 7, dst='reg5', value=9),
                parser.NXActionRegMove(src_field='reg0', dst_field='reg1', n_bits=8),
                parser.NXActionRegMove(src_field='eth_src_nxm', dst_field='eth_dst',
                                       n_bits=48)),
          parser.OFPInstructionGotoTable(20)]),
        (match(eth_type=0x86dd, ipv6_src='fe80::1', tcp_flags=(2, 0x12), pbb_uca=1),
         [parser.OFPInstructionWriteMetadata(0x10, 0xff),
          parser.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS,
                                       [parser.OFPActionOutput(2)]),
          parser.OFPInstructionActions(ofp.OFPIT_CLEAR_ACTIONS, []),
          parser.OFPInstructionMeter(4)]),
        (match(eth_type=0x0806, arp_tpa=('10.0.0.0', '255.255.255.0'), vlan_vid=0,
               eth_src=('0c:eb:1e:00:00:00', 'ff:ff:ff:00:00:00')),
         [apply(parser.OFPActionPushVlan(0x88a8),
                parser.OFPActionSetField(vlan_vid=0x1005),
                parser.OFPActionPushVlan(0x8100), parser.OFPActionSetField(vlan_vid=5),
                parser.OFPActionSetField(arp_op=2),
                parser.OFPActionSetField(arp_spa='10.0.0.9'),
                parser.OFPActionSetField(ipv4_dst='192.168.0.1'),
                parser.OFPActionSetField(tunnel_id=0x22), parser.OFPActionGroup(3),
                parser.NXActionSetTunnel64(tun_id=1 << 40), parser.NXActionDecTtl(),
                parser.NXActionNote(note=[1, 2, 3]),
                parser.NXActionController(max_len=128, controller_id=0, reason=1),
                parser.NXActionLearn(table_id=30, specs=[
                    parser.NXFlowSpecMatch(src=0x1234, dst=('reg2', 0), n_bits=16),
                    parser.NXFlowSpecLoad(src=('in_port_nxm', 0), dst=('reg3', 8), n_bits=16),
                    parser.NXFlowSpecOutput(src=('reg4', 0), dst='', n_bits=16)],
                    flags=1, fin_idle_timeout=5))]),
        (match(), []),
    ]
    return [entry(serialised(mt, insts), table=30 + i, priority=i, cookie=i << 60,
                  flags=31, counters=(1, 2, 3, 4))
            for i, (mt, insts) in enumerate(cases)]


def reply(body, xid=0x1234, flags=0):
    """A whole OFPMP_FLOW multipart reply message around ``body``."""
    length = ofp.OFP_MULTIPART_REPLY_SIZE + len(body)
    return struct.pack('!BBHIHH4x', ofp.OFP_VERSION, ofp.OFPT_MULTIPART_REPLY, length, xid,
                       ofp.OFPMP_FLOW, flags) + body


def parse(buf):
    version, msg_type, msg_len, xid = ofproto_parser.header(buf)
    return ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)


def chunks(entries, limit=0xffff - ofp.OFP_MULTIPART_REPLY_SIZE):
    """Entries grouped into bodies that fit one OpenFlow message, as OVS splits a dump."""
    out, size = [[]], 0
    for one in entries:
        if size + len(one) > limit:
            out.append([])
            size = 0
        out[-1].append(one)
        size += len(one)
    return [b''.join(group) for group in out]


def ryu_decoded(entries):
    """decode.flow_stats of each entry as Ryu parses the replies (no hook installed)."""
    out = []
    for body in chunks(entries):
        msg = parse(reply(body))
        assert msg is not None and type(msg) is parser.OFPFlowStatsReply
        out += [decode.flow_stats(stats) for stats in msg.body]
    return out


def pipeline_entries():
    flows = [mod.flow for mod in all_mods() if isinstance(mod, mods.AddFlow)]
    flows += [learned(vid, '0c:eb:1e:c1:%02x:%02x' % (vid >> 8, vid & 0xff), 0x22, 8)
              for vid in range(1, 300)]
    return [from_flow(flow, n) for n, flow in enumerate(flows)]


def test_pipeline_and_learned_flows_decode_like_ryu():
    entries = pipeline_entries()
    expected = ryu_decoded(entries)
    assert len(expected) == len(entries) > 2000
    body = b''.join(entries)  # one body of any size: the decoder has no 64k limit
    assert list(flowstats_raw.iter_flow_stats(body)) == expected
    # Again from the caches, and from a writable buffer (copied, so views stay hashable).
    assert list(flowstats_raw.iter_flow_stats(bytearray(body))) == expected


def test_foreign_flows_decode_like_ryu():
    entries = foreign_entries()
    expected = ryu_decoded(entries)
    assert len(expected) == len(entries)
    # Each kind of field and instruction above reached decode.py's catch-alls.
    assert any(f.flow.match.other for f in expected)
    texts = {getattr(a, 'text', None) for f in expected for a in f.flow.actions}
    assert {'goto_table:20', 'resubmit:3', 'resubmit(3,5)', 'OFPInstructionMeter',
            'NXActionNote'} <= texts
    assert list(flowstats_raw.iter_flow_stats(b''.join(entries))) == expected
    for one, want in zip(entries, expected):  # each alone, caches warm or cold
        assert list(flowstats_raw.iter_flow_stats(one)) == [want]


def test_flow_cache_decodes_an_unchanged_flow_once():
    flows = [mod.flow for mod in all_mods()[:200] if isinstance(mod, mods.AddFlow)]
    first = [from_flow(f, n, flags=1) for n, f in enumerate(flows)]
    later = [from_flow(f, n + 7, flags=1) for n, f in enumerate(flows)]  # new counters
    other = [from_flow(flows[0], 0, flags=2),  # another flag: another flow
             from_flow(dataclasses.replace(flows[0], priority=7), 0, flags=1)]
    cache = flowstats_raw.FlowCache()
    cache.next_dump()
    got = list(flowstats_raw.iter_flow_stats(b''.join(first), cache))
    assert got == ryu_decoded(first) and len(cache) == len(set(flows))
    cache.next_dump()
    again = list(flowstats_raw.iter_flow_stats(b''.join(later + other), cache))
    assert again == ryu_decoded(later + other)  # counters read anew, the rest equal
    assert all(a.flow is b.flow for a, b in zip(got, again))  # from the cache
    assert again[-2].flow.flags == ('check_overlap',) and again[-1].flow.priority == 7
    cache.next_dump()
    list(flowstats_raw.iter_flow_stats(b''.join(other), cache))
    cache.next_dump()  # two dumps without them: the first dump's flows are forgotten
    assert len(cache.previous) == 2 and len(cache) == 0


def test_malformed_lengths_are_value_errors():
    good = foreign_entries()[0]
    unknown_action = entry(serialised(parser.OFPMatch(), [apply(parser.OFPActionOutput(1))])
                           .replace(struct.pack('!HH', ofp.OFPAT_OUTPUT, 16),
                                    struct.pack('!HH', 0x7777, 16)))
    for bad in [good[:-8],                                   # entry runs past the body
                struct.pack('!H', 40) + good[2:],            # shorter than its match
                good[:50] + struct.pack('!H', 2) + good[52:],   # match shorter than 4
                unknown_action]:                             # Ryu asserts on it
        with pytest.raises(ValueError):
            list(flowstats_raw.iter_flow_stats(bad))


def test_hook_keeps_the_body_raw_and_the_event_class():
    body = chunks(pipeline_entries())[1]
    expected = ryu_decoded([body])
    flowstats_raw.install()
    flowstats_raw.install()  # idempotent
    assert flowstats_raw.installed()
    msg = parse(reply(body, xid=0xabcdef01, flags=ofp.OFPMPF_REPLY_MORE))
    assert type(msg).__name__ == 'OFPFlowStatsReply'
    assert isinstance(msg, parser.OFPFlowStatsReply)  # ryu.app.ofctl's reply_cls check
    assert ofp_event.ofp_msg_to_ev_cls(type(msg)) is ofp_event.EventOFPFlowStatsReply
    assert (msg.xid, msg.flags, msg.type) == (0xabcdef01, ofp.OFPMPF_REPLY_MORE,
                                              ofp.OFPMP_FLOW)
    assert isinstance(msg.raw_body, memoryview) and bytes(msg.raw_body) == body
    assert list(flowstats_raw.iter_flow_stats(msg.raw_body)) == expected
    # msg.body still gives Ryu's objects to code that wants them (parsed on access).
    assert [decode.flow_stats(s) for s in msg.body] == expected


def test_hook_on_empty_and_oversized_buffers():
    flowstats_raw.install()
    msg = parse(reply(b''))  # an empty table: Ryu's body loop never runs
    assert bytes(msg.raw_body) == b'' and msg.body == []
    body = foreign_entries()[0]
    buf = reply(body) + b'\xff' * 24  # a buffer longer than the message
    version, msg_type, msg_len, xid = ofproto_parser.header(buf)
    msg = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)
    assert bytes(msg.raw_body) == body


def test_hook_leaves_other_stats_alone_and_uninstalls():
    flowstats_raw.install()
    desc = parser.OFPTableStats(table_id=3, active_count=4, lookup_count=5, matched_count=6)
    body = struct.pack(ofp.OFP_TABLE_STATS_PACK_STR, 3, 4, 5, 6)
    length = ofp.OFP_MULTIPART_REPLY_SIZE + len(body)
    msg = parse(struct.pack('!BBHIHH4x', ofp.OFP_VERSION, ofp.OFPT_MULTIPART_REPLY, length,
                            7, ofp.OFPMP_TABLE, 0) + body)
    assert type(msg) is parser.OFPTableStatsReply and msg.body == [desc]
    flowstats_raw.uninstall()
    assert not flowstats_raw.installed()
    msg = parse(reply(foreign_entries()[0]))
    assert type(msg) is parser.OFPFlowStatsReply and not hasattr(msg, 'raw_body')


def test_rawconn_requests_are_ryus_bytes():
    """The test/benchmark client's requests are what Ryu would send."""
    msg = encode.flow_stats_request(DP)
    msg.set_xid(77)
    msg.serialize()
    assert rawconn.flow_stats_request(77) == bytes(msg.buf)
    msg = parser.ONFBundleCtrlMsg(DP, 9, ofp.ONF_BCT_COMMIT_REQUEST,
                                  ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED, [])
    msg.set_xid(78)
    msg.serialize()
    assert rawconn.bundle_ctrl(78, 9, ofp.ONF_BCT_COMMIT_REQUEST,
                               ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED) == bytes(msg.buf)


def test_table_counts_walk_the_entries_without_decoding():
    entries = pipeline_entries() + foreign_entries()
    decoded = ryu_decoded(entries)
    want = {}
    for stats in decoded:
        want[stats.flow.table] = want.get(stats.flow.table, 0) + 1
    assert len(want) > 3 and flowstats_raw.table_counts(b''.join(entries)) == want
    assert flowstats_raw.table_counts(b'') == {}
    good = entries[0]
    for bad in [good[:-8], struct.pack('!H', 40) + good[2:], struct.pack('!H', 0) + good[2:]]:
        with pytest.raises(ValueError):
            flowstats_raw.table_counts(bad)
