#!/usr/bin/env python3
"""Benchmark: the struct codec (ofp.wire, ofp.flowstats_raw) against Ryu's message classes.

Run as root from the repo's virtualenv:  sudo .venv/bin/python benchmarks/bench_codec.py
The flows are what the pipeline builds for a node with V VPCs, T tunnels and N remote ports
under l2population: N table-20 unicast flows (dl_vlan=VLAN,dl_dst=MAC actions=strip_vlan,
set_tunnel:VNI,output:PORT, priority 2) plus the pipeline's own. Timed in one run:
  - encoding every flow as a bundle-add message: Ryu's path (encode.flow_mod wrapped in
    ONFBundleAddMsg, serialised -- what send.py does) vs wire.bundle_bytes; byte-equal;
  - installing them on a private OVS: ovs-ofctl --bundle add-flows (the reference) vs
    wire's bytes in one bundle over the bridge's management socket (encode included);
  - dumping them: ovs-ofctl dump-flows (the reference) and our raw OFPMP_FLOW request;
  - decoding that raw dump: Ryu's parser + decode.py vs the hook + flowstats_raw (also
    with the cyclic GC paused, and with a FlowCache filled by an earlier dump); equal.
Peak memory of each codec step is measured in a forked child: the RSS high-water mark
above the child's RSS at the start (getrusage), and tracemalloc's peak in a second run.
Everything it made is removed at the end. A benchmark, not a test: it only checks counts
and that both paths produce the same bytes / the same FlowStats.
"""
import argparse
import gc
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
import types

from ryu.ofproto import ofproto_parser
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from benchlib import require_root
from ryu_vxlan_vpc.flows import mods, text
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.ofp import decode, encode, flowstats_raw, rawconn, wire
from ryu_vxlan_vpc.ovs_instance import private_ovs
from ryu_vxlan_vpc.pipeline import br_tun

DP = types.SimpleNamespace(ofproto=ofp, ofproto_parser=parser)
FLAGS = ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED


def pipeline_flows(n_routes, n_vpcs, n_tunnels):
    vpcs = tuple(Vpc(0x1000 + i, 1 + i) for i in range(n_vpcs))
    routes = tuple(br_tun.RemoteRoute(vpcs[j % n_vpcs].vni,
                                      'fa:16:3e:%02x:%02x:%02x' % (j >> 16, (j >> 8) & 255,
                                                                   j & 255),
                                      None, 2 + (j // n_vpcs) % n_tunnels)
                   for j in range(n_routes))
    state = br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=range(2, 2 + n_tunnels),
                              vpcs=vpcs, l2_population=True, remote_ports=routes)
    return br_tun.build(state)


# --- the two paths -----------------------------------------------------------------------
def ryu_encode(changes, xids):
    out = []
    for mod, xid in zip(changes, xids):
        msg = parser.ONFBundleAddMsg(DP, 1, FLAGS, encode.flow_mod(DP, mod), [])
        msg.set_xid(xid)
        msg.serialize()
        out.append(msg.buf)
    return b''.join(out)


def wire_encode(changes, xids):
    return wire.bundle_bytes(changes, 1, FLAGS, xids)


def parsed(reply):
    version, msg_type, msg_len, xid = ofproto_parser.header(reply)
    return ofproto_parser.msg(DP, version, msg_type, msg_len, xid, reply)


def ryu_decode(replies):
    return [decode.flow_stats(stats) for reply in replies for stats in parsed(reply).body]


def raw_decode(replies, cache=None):
    """What the app's handler does with the hook: Ryu makes the message, we the flows."""
    flowstats_raw.install()
    try:
        if cache is not None:
            cache.next_dump()
        return [s for reply in replies
                for s in flowstats_raw.iter_flow_stats(parsed(reply).raw_body, cache)]
    finally:
        flowstats_raw.uninstall()


def raw_decode_gc_paused(replies):
    gc.disable()
    try:
        return raw_decode(replies)
    finally:
        gc.enable()


# --- measuring ---------------------------------------------------------------------------
def best(func, rounds):
    times, result = [], None
    for _ in range(rounds):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def rss_kib():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024


def memory(func):
    """(RSS high-water mark above the start, tracemalloc peak) of func(), in MiB, measured
    in a forked child so that neither the parent's history nor the other path counts."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            gc.collect()
            start = rss_kib()
            func()  # its result is freed here; the high-water mark stays
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
            tracemalloc.start()
            func()
            traced = tracemalloc.get_traced_memory()[1]
            os.write(write_end, json.dumps([(peak - start) / 1024, traced / 2**20]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data) if data else [float('nan')] * 2


# --- OVS ---------------------------------------------------------------------------------
def install_wire(ovs, flows):
    """Encode and send every flow in one bundle over the mgmt socket; until committed."""
    with rawconn.RawConnection(ovs.mgmt('br-tun'), timeout=600) as conn:
        conn.request(rawconn.bundle_ctrl(conn.next_xid(), 1, ofp.ONF_BCT_OPEN_REQUEST, FLAGS))
        xids = [conn.next_xid() for _ in flows]
        conn.send(wire.bundle_bytes([mods.AddFlow(f) for f in flows], 1, FLAGS, xids))
        conn.request(rawconn.bundle_ctrl(conn.next_xid(), 1, ofp.ONF_BCT_COMMIT_REQUEST,
                                         FLAGS))


def raw_dump(ovs):
    with rawconn.RawConnection(ovs.mgmt('br-tun'), timeout=600) as conn:
        return conn.multipart(rawconn.flow_stats_request(conn.next_xid()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--flows', type=int, default=100000, help='l2population flows (100000)')
    ap.add_argument('--vpcs', type=int, default=1000, help='VPCs (1000)')
    ap.add_argument('--tunnels', type=int, default=16, help='tunnel ports (16)')
    ap.add_argument('--rounds', type=int, default=3, help='timed rounds per step (3)')
    args = ap.parse_args()
    require_root('it creates a network namespace and an OVS instance')

    flows = pipeline_flows(args.flows, args.vpcs, args.tunnels)
    changes = [mods.AddFlow(f) for f in flows]
    xids = list(range(1, len(changes) + 1))
    rows = []

    def row(group, name, func, reference=None, mem=True):
        b, med, result = best(func, args.rounds)
        rss, traced = memory(func) if mem else (float('nan'), float('nan'))
        rows.append((group, name, b, med, len(flows) / b, rss, traced, reference))
        return b, result

    ryu_s, ryu_bytes = row('encode', 'Ryu: encode.flow_mod + ONFBundleAddMsg',
                           lambda: ryu_encode(changes, xids))
    wire_s, wire_bytes = row('encode', 'wire.bundle_bytes', lambda: wire_encode(changes, xids),
                             ryu_s)
    if wire_bytes != ryu_bytes:
        raise SystemExit('wire.py and Ryu produced different bytes')
    del ryu_bytes, wire_bytes

    with private_ovs('bcodec') as (ovs, workdir):
        ovs.vsctl('add-br', 'br-tun', '--', 'set', 'bridge', 'br-tun', 'datapath_type=netdev',
                  'fail-mode=secure', 'protocols=OpenFlow10,OpenFlow13')
        flows_file = os.path.join(workdir, 'flows.txt')
        with open(flows_file, 'w') as f:
            f.writelines(text.render(flow) + '\n' for flow in flows)
        def ofctl(cmd, *args, protocol=None):
            return ovs.ofctl(cmd, 'br-tun', *args, protocol=protocol, timeout=600)

        def ofctl_add():
            ofctl('del-flows')
            start = time.perf_counter()
            ofctl('add-flows', '--bundle', flows_file, protocol='OpenFlow13')
            return time.perf_counter() - start

        def wire_add():
            ofctl('del-flows')
            start = time.perf_counter()
            install_wire(ovs, flows)
            return time.perf_counter() - start
        # del-flows stays outside the timings: each returns its own time.
        ofctl_add_s = min(ofctl_add() for _ in range(args.rounds))
        wire_add_s = min(wire_add() for _ in range(args.rounds))
        rows.append(('install', 'ovs-ofctl -O OpenFlow13 --bundle add-flows', ofctl_add_s,
                     float('nan'), len(flows) / ofctl_add_s, float('nan'), float('nan'), None))
        rows.append(('install', 'wire bytes, one bundle on the mgmt socket', wire_add_s,
                     float('nan'), len(flows) / wire_add_s, float('nan'), float('nan'),
                     ofctl_add_s))

        ref_s, dumped = row('dump', 'ovs-ofctl -O OpenFlow13 dump-flows',
                            lambda: ofctl('dump-flows', protocol='OpenFlow13'),
                            mem=False)
        row('dump', 'ovs-ofctl dump-flows (OpenFlow 1.0)', lambda: ofctl('dump-flows'), ref_s,
            False)
        _, replies = row('dump', 'raw OFPMP_FLOW request, all replies read',
                         lambda: raw_dump(ovs), ref_s, False)
    if len(text.parse_dump(dumped)) != len(flows):
        raise SystemExit('OVS holds %d flows, expected %d' % (len(text.parse_dump(dumped)),
                                                               len(flows)))

    ryu_dec_s, ryu_stats = row('decode', 'Ryu parser + decode.flow_stats',
                               lambda: ryu_decode(replies), ref_s)
    _, raw_stats = row('decode', 'hook + flowstats_raw.iter_flow_stats',
                       lambda: raw_decode(replies), ref_s)
    row('decode', 'the same with the cyclic GC paused', lambda: raw_decode_gc_paused(replies),
        ref_s)
    cache = flowstats_raw.FlowCache()
    raw_decode(replies, cache)  # a first dump fills it; the timed ones are the next dumps
    _, cached_stats = row('decode', 'the same with a FlowCache (a later dump)',
                          lambda: raw_decode(replies, cache), ref_s)
    if not raw_stats == cached_stats == ryu_stats or len(raw_stats) != len(flows):
        raise SystemExit('flowstats_raw and Ryu decoded differently')

    size = sum(len(r) for r in replies)
    print('flows: %d (%d l2population table-20 + %d pipeline: %d VPCs, %d tunnels); raw dump '
          '%.1f MiB in %d replies; best of %d rounds'
          % (len(flows), args.flows, len(flows) - args.flows, args.vpcs, args.tunnels,
             size / 2**20, len(replies), args.rounds))
    print('%-7s %-44s %8s %8s %10s %8s %8s %9s' % ('step', 'method', 'best s', 'median',
                                                   'flows/s', 'RSS MiB', 'py MiB', 'x ref'))
    for group, name, b, med, rate, rss, traced, reference in rows:
        ratio = '%9.2f' % (b / reference) if reference else '%9s' % 'ref'
        print('%-7s %-44s %8.3f %8.3f %10.0f %8.1f %8.1f %s'
              % (group, name, b, med, rate, rss, traced, ratio))
    print('x ref: encode rows against Ryu\'s encode, install against ovs-ofctl --bundle, dump '
          'and decode rows against ovs-ofctl -O OpenFlow13 dump-flows. RSS: high-water mark '
          'above the start in a forked child; py: tracemalloc peak.')


if __name__ == '__main__':
    sys.exit(main())
