#!/usr/bin/env python3
"""Benchmark: GET /vxlan-vpc/flows on a br-tun holding N flows, against ovs-ofctl dump-flows.

Run as root from the repo's virtualenv:  sudo .venv/bin/python benchmarks/bench_rest_flows.py
It builds a private OVS in a fresh network namespace, starts the real ryu-manager with our
app, loads N table-20 flows shaped like learned ones (one OpenFlow bundle via ovs-ofctl),
then times, in the same run and against the same bridge:
  - ovs-ofctl dump-flows                         (the reference)
  - GET /vxlan-vpc/flows?format=text   and JSON  (flow-stats request, decode, render)
  - ovs-ofctl dump-flows table=20 and GET /vxlan-vpc/macs (every learned-style flow a MAC)
  - the time to the first byte of the 100k-flow text answer (streamed, not built whole)
and prints each (best and median of R rounds), the ratio to ovs-ofctl, each issue-12 target
with its figure, and the controller's peak memory. Everything it made is removed at the end. It is a benchmark, not a test: it
only checks that both sides returned all N + pipeline flows.
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import time

from benchlib import peak_rss_mib, require_root
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.netns import http_get, inside_netns
from ryu_vxlan_vpc.ovs_instance import private_ovs
from ryu_vxlan_vpc.procs import poll
from ryu_vxlan_vpc.ryu_process import RyuManager
from ryu_vxlan_vpc.shell import run

CONF = """[vxlan_vpc]
local_ip = 172.21.12.163
remote_ips = 172.21.12.8
vpcs = 0x22:12
"""
PIPELINE_FLOWS = 13
LEARNED = ('cookie=0xa9eb8f9011f7e038, table=20, hard_timeout=3600, priority=1,'
           'vlan_tci=0x000c/0x0fff,dl_dst=%s actions=load:0->NXM_OF_VLAN_TCI[],'
           'load:0x22->NXM_NX_TUN_ID[],output:2\n')


def mac(i):
    return '02:%02x:%02x:%02x:%02x:%02x' % tuple((i >> s) & 0xff for s in (32, 24, 16, 8, 0))


def timed(func, rounds):
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def first_byte(netns, path):
    """(seconds to the first body byte, seconds to the last) of one GET from inside netns."""
    with inside_netns(netns):
        start = time.perf_counter()
        conn = http.client.HTTPConnection('127.0.0.1', 8080, timeout=600)
        try:
            conn.request('GET', path)
            resp = conn.getresponse()
            resp.read(1)
            first = time.perf_counter() - start
            while resp.read(1 << 20):
                pass
            return first, time.perf_counter() - start
        finally:
            conn.close()


def build_bridge(ovs):
    ovs.vsctl('add-br', 'br-tun', '--', 'set', 'bridge', 'br-tun', 'datapath_type=netdev',
              'fail-mode=secure', 'protocols=OpenFlow10,OpenFlow13',
              '--', 'set-controller', 'br-tun', 'tcp:127.0.0.1:6633',
              '--', 'set', 'controller', 'br-tun', 'max_backoff=1000',
              'connection_mode=out-of-band')
    ovs.vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev')
    ovs.vsctl('add-port', 'br-tun', 'patch-int', '--', 'set', 'interface', 'patch-int',
              'type=patch', 'options:peer=patch-tun')
    ovs.vsctl('add-port', 'br-int', 'patch-tun', '--', 'set', 'interface', 'patch-tun',
              'type=patch', 'options:peer=patch-int')
    ovs.vsctl('add-port', 'br-tun', 'vxlan-ac150c08', '--', 'set', 'interface',
              'vxlan-ac150c08', 'type=vxlan', 'options:remote_ip=172.21.12.8',
              'options:local_ip=172.21.12.163', 'options:in_key=flow', 'options:out_key=flow')


def wait(predicate, timeout, what):
    if not poll(predicate, timeout):
        raise SystemExit('timed out waiting for %s' % what)


def synced(netns):
    """Whether the app reports a finished sync (its report, served by REST; not its log)."""
    try:
        status, _, body = http_get(netns, 'http://127.0.0.1:8080/vxlan-vpc/switches', 10)
    except OSError:
        return False
    return status == 200 and any(sw['last_sync'] for sw in json.loads(body)['switches'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--flows', type=int, default=100000, help='learned-style flows (100000)')
    parser.add_argument('--rounds', type=int, default=3, help='timed rounds per method (3)')
    args = parser.parse_args()
    require_root('it creates a network namespace and an OVS instance')

    with private_ovs('bench') as (ovs, workdir):
        netns, ryu = ovs.netns, None
        try:
            build_bridge(ovs)
            conf = os.path.join(workdir, 'node.conf')
            with open(conf, 'w') as f:
                f.write(CONF)
            ryu = RyuManager(netns, conf, os.path.join(workdir, 'ryu.log'),
                             extra=['--wsapi-port', '8080']).start()
            wait(lambda: synced(netns), 60, 'the app to install the pipeline')

            flows_file = os.path.join(workdir, 'flows.txt')
            with open(flows_file, 'w') as f:
                f.writelines(LEARNED % mac(i) for i in range(args.flows))
            start = time.perf_counter()
            run(['ovs-ofctl', '-O', 'OpenFlow13', '--bundle', 'add-flows', ovs.mgmt('br-tun'),
                 flows_file], netns=netns, env=ovs.env, timeout=600)
            load_s = time.perf_counter() - start
            total = args.flows + PIPELINE_FLOWS

            def ofctl():
                return ovs.ofctl('dump-flows', 'br-tun')

            def rest_path(path):
                status, _, body = http_get(netns, 'http://127.0.0.1:8080' + path, timeout=600)
                if status != 200:
                    raise SystemExit('REST answered %s: %s' % (status, body[:300]))
                return body

            def rest(fmt):
                return rest_path('/vxlan-vpc/flows?format=' + fmt)

            def ofctl_t20():
                return ovs.ofctl('dump-flows', 'br-tun', 'table=20')

            o_best, o_med, o_out = timed(ofctl, args.rounds)
            t_best, t_med, t_out = timed(lambda: rest('text'), args.rounds)
            j_best, j_med, j_out = timed(lambda: rest('json'), args.rounds)
            o20_best, o20_med, o20_out = timed(ofctl_t20, args.rounds)
            m_best, m_med, m_out = timed(lambda: rest_path('/vxlan-vpc/macs'), args.rounds)
            firsts = [first_byte(netns, '/vxlan-vpc/flows?format=text')
                      for _ in range(args.rounds)]
            counts = (len(text.parse_dump(o_out)), len(text.parse_dump(t_out)),
                      json.loads(j_out)['count'])
            if counts != (total, total, total):
                raise SystemExit('flow counts differ: ofctl/text/json = %s, expected %d'
                                 % (counts, total))
            # table 20 holds the learned-style flows and the pipeline's priority-0 miss flow
            macs, t20 = json.loads(m_out)['count'], len(text.parse_dump(o20_out))
            if (macs, t20) != (args.flows, args.flows + 1):
                raise SystemExit('table 20: REST %d MACs, ofctl %d flows; expected %d and %d'
                                 % (macs, t20, args.flows, args.flows + 1))
            rss = peak_rss_mib(ryu.proc.pid)

            print('br-tun flows: %d (%d learned-style + %d pipeline); loaded in %.2fs with '
                  'ovs-ofctl --bundle' % (total, args.flows, PIPELINE_FLOWS, load_s))
            header = ('method (%d rounds)' % args.rounds, 'best s', 'median s', 'x ofctl')
            print('%-40s %9s %9s %9s' % header)
            for name, best, med, ref in (
                    ('ovs-ofctl dump-flows (reference)', o_best, o_med, o_med),
                    ('GET /vxlan-vpc/flows?format=text', t_best, t_med, o_med),
                    ('GET /vxlan-vpc/flows (JSON)', j_best, j_med, o_med),
                    ('ovs-ofctl dump-flows table=20 (ref.)', o20_best, o20_med, o20_med),
                    ('GET /vxlan-vpc/macs', m_best, m_med, o20_med)):
                print('%-40s %9.3f %9.3f %9.2f' % (name, best, med, med / ref))
            first_med = statistics.median(f for f, _ in firsts)
            print('first byte of the text answer: median %.3f s (whole answer %.3f s)'
                  % (first_med, statistics.median(w for _, w in firsts)))
            print('ryu-manager peak RSS: %.0f MiB; JSON body %.1f MiB, text body %.1f MiB'
                  % (rss, len(j_out) / 2**20, len(t_out) / 2**20))
            print('issue 12 targets (medians):')
            for what, figure, target, unit in (
                    ('text <= 3x dump-flows', t_med / o_med, 3.0, 'x'),
                    ('JSON <= 3x dump-flows', j_med / o_med, 3.0, 'x'),
                    ('/macs <= 3x dump-flows table=20', m_med / o20_med, 3.0, 'x'),
                    ('first byte < 1 s', first_med, 1.0, 's'),
                    ('peak RSS <= 150 MiB', rss, 150.0, 'MiB')):
                print('  %-34s %8.2f %-3s target %6.1f  %s' % (
                    what, figure, unit, target, 'met' if figure <= target else 'MISSED'))
        finally:
            if ryu:
                ryu.stop()


if __name__ == '__main__':
    sys.exit(main())
