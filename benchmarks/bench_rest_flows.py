#!/usr/bin/env python3
"""Benchmark: GET /vxlan-vpc/flows on a br-tun holding N flows, against ovs-ofctl dump-flows.

Run as root from the repo's virtualenv:  sudo .venv/bin/python benchmarks/bench_rest_flows.py
It builds a private OVS in a fresh network namespace, starts the real ryu-manager with our
app, loads N table-20 flows shaped like learned ones (one OpenFlow bundle via ovs-ofctl),
then times, in the same run and against the same bridge:
  - ovs-ofctl dump-flows                         (the reference)
  - GET /vxlan-vpc/flows?format=text   and JSON  (flow-stats request, decode, render)
and prints each (best and median of R rounds), the ratio to ovs-ofctl, and the controller's
peak memory. Everything it made is removed at the end. It is a benchmark, not a test: it
only checks that both sides returned all N + pipeline flows.
"""
import argparse
import json
import os
import statistics
import sys
import time

from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.netns import http_get
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


def peak_rss_mib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    return float('nan')


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
    if os.geteuid() != 0:
        raise SystemExit('run as root (it creates a network namespace and an OVS instance)')

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

            def rest(fmt):
                status, _, body = http_get(netns, 'http://127.0.0.1:8080/vxlan-vpc/flows?format='
                                           + fmt, timeout=600)
                if status != 200:
                    raise SystemExit('REST answered %s: %s' % (status, body[:300]))
                return body

            o_best, o_med, o_out = timed(ofctl, args.rounds)
            t_best, t_med, t_out = timed(lambda: rest('text'), args.rounds)
            j_best, j_med, j_out = timed(lambda: rest('json'), args.rounds)
            counts = (len(text.parse_dump(o_out)), len(text.parse_dump(t_out)),
                      json.loads(j_out)['count'])
            if counts != (total, total, total):
                raise SystemExit('flow counts differ: ofctl/text/json = %s, expected %d'
                                 % (counts, total))
            rss = peak_rss_mib(ryu.proc.pid)

            print('br-tun flows: %d (%d learned-style + %d pipeline); loaded in %.2fs with '
                  'ovs-ofctl --bundle' % (total, args.flows, PIPELINE_FLOWS, load_s))
            header = ('method (best of %d)' % args.rounds, 'best s', 'median s', 'x ofctl')
            print('%-36s %9s %9s %9s' % header)
            for name, best, med in (('ovs-ofctl dump-flows (reference)', o_best, o_med),
                                    ('GET /vxlan-vpc/flows?format=text', t_best, t_med),
                                    ('GET /vxlan-vpc/flows (JSON)', j_best, j_med)):
                print('%-36s %9.3f %9.3f %9.1f' % (name, best, med, best / o_best))
            print('throughput: ovs-ofctl %.0f flows/s, REST text %.0f flows/s, REST JSON %.0f '
                  'flows/s' % (total / o_best, total / t_best, total / j_best))
            print('ryu-manager peak RSS: %.0f MiB; JSON body %.1f MiB, text body %.1f MiB'
                  % (rss, len(j_out) / 2**20, len(t_out) / 2**20))
        finally:
            if ryu:
                ryu.stop()


if __name__ == '__main__':
    sys.exit(main())
