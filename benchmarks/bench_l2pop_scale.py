#!/usr/bin/env python3
"""Benchmark: l2population and the ARP responder for a registry of N nodes x P ports.

Run as root from the repo's virtualenv:
    sudo .venv/bin/python benchmarks/bench_l2pop_scale.py [--nodes 1000] [--ports 100]
A two-node registry lab (compute1 and compute2 are real; its own state dir and namespace
prefix, removed at the end) plus N more nodes that exist only as registry records, each
with P VM ports spread over V VPCs that compute1 also hosts. compute1 therefore holds one
tunnel per node and, per remote port, a unicast flow (table 20) and an ARP answer (table
21): about 2*N*P flows. Measured in one run:
  - program: compute1's ryu-manager restarted on an emptied br-tun, time until br-tun
    holds every flow (a dump-flows poll), and the app's own sync report ("took");
  - reference: the same flows (dumped from br-tun) with ``ovs-ofctl --bundle add-flows``
    into the emptied br-tun, before the restart;
  - one port add: a new port record on a record-only node, time until its table-20 flow
    is on compute1 (median of --samples);
  - ryu-manager's peak RSS (VmHWM): while following live, after the restart on an emptied
    br-tun, and (another restart) through the no-op resync and the port adds.
Fake nodes' VTEPs are in 172.21.128.0/17, inside the lab's own namespaces: nothing is
routed there and nothing is sent to them. A benchmark, not a test: exit 1 only when
something did not converge.
"""
import argparse
import os
import re
import statistics
import sys
import time

from benchlib import fresh_state_dir, last_sync, peak_rss_mib, require_root
from ryu_vxlan_vpc import procs
from ryu_vxlan_vpc.lab import runtime
from ryu_vxlan_vpc.lab.lab import Lab, LabError
from ryu_vxlan_vpc.registry import fleet
from ryu_vxlan_vpc.registry.records import (NodeRecord, PortRecord, VpcRecord, node_key,
                                            node_value, port_key, port_value, vpc_key,
                                            vpc_value)

FIRST_VNI = 0x5000
PER_TXN = 128          # etcd's default --max-txn-ops


def fake_ip(i):
    return '172.21.%d.%d' % (128 + i // 250, 1 + i % 250)


def fake_mac(node, port):
    return 'fa:16:3f:%02x:%02x:%02x' % (node >> 8, node & 0xff, port)


def write_records(rec, n_nodes, n_ports, n_vpcs):
    """Node, VPC and port records in raw transactions of PER_TXN puts."""
    puts = []
    for v in range(n_vpcs):
        puts.append((lambda p, v=v: vpc_key(p, FIRST_VNI + v),
                     vpc_value(VpcRecord(FIRST_VNI + v, None, None))))
    for n in range(n_nodes):
        name = 'fake%04d' % n
        puts.append((lambda p, name=name: node_key(p, name),
                     node_value(NodeRecord(name, fake_ip(n)))))
        for i in range(n_ports):
            rec_ = PortRecord(name, 'p%d' % i, FIRST_VNI + (n * n_ports + i) % n_vpcs,
                              fake_mac(n, i), '10.%d.%d.%d' % (n >> 8, n & 0xff, i + 1))
            puts.append((lambda p, r=rec_: port_key(p, r.node, r.port_id), port_value(rec_)))
    with runtime.registry(rec) as reg:
        for start in range(0, len(puts), PER_TXN):
            chunk = [(key(reg.prefix), value) for key, value in puts[start:start + PER_TXN]]
            if not reg.transaction(puts=chunk):
                raise RuntimeError('etcd refused a transaction')
    return len(puts)


def ofctl(ovs, cmd, *args):
    """ovs-ofctl (OpenFlow 1.3) on compute1's br-tun; 100k-flow runs take their time."""
    return ovs.ofctl(cmd, 'br-tun', *args, protocol='OpenFlow13', timeout=600)


def our_flows(ovs):
    out = ofctl(ovs, 'dump-flows', 'cookie=0x79/-1')
    return [line for line in out.splitlines() if 'cookie=' in line]


def count(ovs):
    return len(our_flows(ovs))


def wait_count(ovs, want, timeout):
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if count(ovs) >= want:
            return time.perf_counter() - start
        time.sleep(0.2)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nodes', type=int, default=1000, help='record-only nodes (1000)')
    parser.add_argument('--ports', type=int, default=100, help='ports per node (100)')
    parser.add_argument('--vpcs', type=int, default=10, help='VPCs the ports use (10)')
    parser.add_argument('--samples', type=int, default=5, help='single port adds (5)')
    parser.add_argument('--timeout', type=float, default=900.0)
    parser.add_argument('--prefix', default='bl2-%d-' % (os.getpid() % 1000))
    parser.add_argument('--keep-on-failure', action='store_true',
                        help='leave the lab up when something did not converge (then '
                             '`ryu-vxlan-vpc lab down --state-dir DIR`)')
    args = parser.parse_args()
    require_root('namespaces, OVS')
    state = fresh_state_dir('l2pop')
    lab = Lab(state, out=lambda line: None)
    ok = False
    try:
        lab.up(nodes=2, prefix=args.prefix)
        rec = lab.load()
        c1 = lab.node(rec, 'compute1')
        ovs = lab.ovs(c1)
        for v in range(args.vpcs):   # compute1 hosts one port of each VPC (no plumbing)
            runtime.register(rec, fleet.add_vpc, '%#x' % (FIRST_VNI + v))
            runtime.register(rec, fleet.add_port, 'compute1', 'host%d' % v,
                             '%#x' % (FIRST_VNI + v), 'fa:16:3e:aa:00:%02x' % v)
        t0 = time.perf_counter()
        puts = write_records(rec, args.nodes, args.ports, args.vpcs)
        print('registry: %d records written in %.1f s (%d nodes x %d ports, %d VPCs)'
              % (puts, time.perf_counter() - t0, args.nodes, args.ports, args.vpcs))
        # Every remote port of compute1's VPCs gives one unicast flow and one ARP answer.
        want_extra = 2 * args.nodes * args.ports
        t0 = time.perf_counter()
        deadline = t0 + args.timeout
        while time.perf_counter() < deadline:
            got = count(ovs)
            if got >= want_extra:
                break
            time.sleep(1)
        live = time.perf_counter() - t0
        total = count(ovs)
        print('first convergence (tunnels made, records followed live): %d flows of ours on '
              'compute1 after %.1f s' % (total, live))
        if total < want_extra:
            raise LabError('compute1 holds %d flows, expected over %d' % (total, want_extra))
        flows = [re.sub(r'duration=[0-9.]+s, |n_packets=\d+, |n_bytes=\d+, ', '', line).strip()
                 for line in our_flows(ovs)]
        ryu = c1['ryu']
        rss_live = peak_rss_mib(ryu['pid'])
        procs.stop(ryu['pid'], ryu.get('started'))
        path = os.path.join(state, 'flows.txt')
        with open(path, 'w') as f:
            f.write('\n'.join(flows) + '\n')
        ofctl(ovs, 'del-flows')
        t = time.perf_counter()
        ofctl(ovs, 'add-flows', '--bundle', path)
        ref = time.perf_counter() - t
        os.remove(path)   # not the lab's: `lab down` would leave it behind
        assert count(ovs) == len(flows)
        ofctl(ovs, 'del-flows')
        t = time.perf_counter()
        lab.restart_ryu('compute1')
        took = wait_count(ovs, len(flows), args.timeout)
        rec = lab.load()
        pid = lab.node(rec, 'compute1')['ryu']['pid']
        whole = time.perf_counter() - t
        report = last_sync(c1['netns'])
        print('program all %d flows after a restart on an empty br-tun: %s s (ryu-manager '
              'start to the last flow)' % (len(flows), 'n/a' if took is None else '%.2f' % whole))
        if report:
            print('  the app\'s sync report: %d flows, %d added, %s; %.2f s = read %.2f + '
                  'plan %.2f + send %.2f' % (report['flows'], report['added'], report['how'],
                                             report['seconds'], report['read_seconds'],
                                             report['plan_seconds'], report['send_seconds']))
        print('reference: ovs-ofctl -O OpenFlow13 --bundle add-flows of the same %d flows: '
              '%.2f s' % (len(flows), ref))
        # A no-op resync: ryu-manager restarted on a br-tun that holds every flow already.
        rss_sync = peak_rss_mib(pid)
        rec = lab.load()
        ryu = lab.node(rec, 'compute1')['ryu']
        procs.stop(ryu['pid'], ryu.get('started'))
        t = time.perf_counter()
        ofctl(ovs, 'dump-flows')
        dump_s = time.perf_counter() - t
        lab.restart_ryu('compute1')
        noop, deadline = None, time.perf_counter() + args.timeout
        while noop is None and time.perf_counter() < deadline:
            noop = last_sync(c1['netns'])   # None until the restarted app answers
            time.sleep(0.2)
        if noop:
            print('no-op resync after a restart (br-tun holds all %d flows): %.2f s = read '
                  '%.2f + plan %.2f + send %.2f (%d added, %d removed; read: %d flows '
                  'decoded, %d rows recognised by their bytes); reference ovs-ofctl '
                  'dump-flows: %.2f s; %.2fx' % (
                      len(flows), noop['seconds'], noop['read_seconds'], noop['plan_seconds'],
                      noop['send_seconds'], noop['added'], noop['removed'],
                      noop.get('read_decoded', -1), noop.get('read_recognised', -1), dump_s,
                      noop['seconds'] / dump_s))
        rec = lab.load()
        adds = []
        for i in range(args.samples):
            mac = 'fa:16:3f:ee:00:%02x' % i
            t = time.perf_counter()
            runtime.register(rec, fleet.add_port, 'fake0000', 'extra%d' % i,
                             '%#x' % FIRST_VNI, mac, '10.255.0.%d' % (i + 1))
            while 'dl_dst=%s' % mac not in ofctl(ovs, 'dump-flows', 'table=20,dl_dst=%s' % mac):
                if time.perf_counter() - t > 60:
                    raise LabError('port %s never reached compute1' % mac)
                time.sleep(0.01)
            adds.append(time.perf_counter() - t)
        print('one port add (fleet port add -> its table-20 flow on compute1): median %.0f ms '
              '(%s)' % (statistics.median(adds) * 1000, ', '.join('%.0f' % (a * 1000)
                                                                    for a in adds)))
        rss_adds = peak_rss_mib(lab.node(lab.load(), 'compute1')['ryu']['pid'])
        print('ryu-manager peak RSS: %.0f MiB while following live, %.0f MiB after the '
              'restart, %.0f MiB through the no-op resync and the port adds'
              % (rss_live, rss_sync, rss_adds))
        print('issue 12 targets (this run):')
        targets = [('peak RSS <= 150 MiB', max(rss_live, rss_sync, rss_adds), 150.0, 'MiB')]
        if report:
            targets.insert(0, ('sync into empty <= 1.5x add-flows', report['seconds'] / ref,
                               1.5, 'x'))
        if noop:
            targets.insert(-1, ('no-op resync <= 1.5x dump-flows', noop['seconds'] / dump_s,
                                1.5, 'x'))
        for what, figure, target, unit in targets:
            print('  %-36s %8.2f %-3s target %6.1f  %s' % (
                what, figure, unit, target, 'met' if figure <= target else 'MISSED'))
        ok = took is not None
    finally:
        if not ok:
            try:
                with open(lab.node(lab.load(), 'compute1')['ryu']['log'],
                          errors='replace') as f:
                    print('compute1 ryu-manager log, last lines:\n' +
                          ''.join(f.readlines()[-15:]))
            except Exception as exc:   # the lab may not have got that far
                print('no ryu-manager log: %s' % exc)
        if ok or not args.keep_on_failure:
            lab.down(quiet=True)
        else:
            print('lab left up in %s' % state)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
