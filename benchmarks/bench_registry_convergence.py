#!/usr/bin/env python3
"""Benchmark: how fast registry writes become br-tun flows on every node of a lab.

Run as root from the repo's virtualenv:
    sudo .venv/bin/python benchmarks/bench_registry_convergence.py [--samples 50] [--burst 1000]
A lab of N nodes (default 3, its own state dir and namespace prefix, removed at the end)
follows its etcd registry. A node provisions a VPC (table 4 ``tun_id=VNI`` flow, table 22
flood flow) while it hosts a VM port of that VPC; the port's br-int plumbing need not
exist, so "a VPC added" here is ``fleet vpc add VNI`` plus one ``fleet port add NODE ...``
per node, written through ``registry.fleet`` as the lab does (``lab.runtime.register``).
Measured, in the same run:
  - latency: S times, one new VPC's records, then ``ovs-ofctl dump-flows br-tun table=4``
    on every node until its ``tun_id`` flow is on all of them; time from just before the
    first write (t0) and from just after the last one (t_last). A figure is the end of the
    dump that first showed the flow: an upper bound, with about one poll period of slack.
  - burst: B VPCs (4 records each with 3 nodes) written back to back, then the time until
    every node's table 4 holds all of them, per node; the bundles and syncs each node's
    ryu-manager logged meanwhile and its CPU time. fleet has no batch operation, so by
    default the burst writes the same records (records.vpc_value/port_value, without
    fleet's checks) 32 VPCs = 128 puts per raw etcd transaction (etcd's --max-txn-ops).
    ``--batch 0`` writes them with one fleet call each instead, as the latency part does:
    every fleet call reads the whole registry and every node re-parses it and resyncs on
    each event, so 1000 VPCs then take minutes (about 380 s of writes on 2 cores).
A benchmark, not a test: it exits 1 only when something did not converge.
"""
import argparse
import math
import os
import re
import shutil
import sys
import threading
import time

from benchlib import require_root
from ryu_vxlan_vpc.lab import runtime
from ryu_vxlan_vpc.lab.lab import Lab, LabError
from ryu_vxlan_vpc.lab.report import tun_bridge
from ryu_vxlan_vpc.registry import fleet
from ryu_vxlan_vpc.registry.records import (
    PortRecord, VpcRecord, port_key, port_value, vpc_key, vpc_value)

TUN_ID_RE = re.compile(r'table=4\b.*\btun_id=(0x[0-9a-f]+)')
FLOOD_RE = re.compile(r'table=22\b.*\bdl_vlan=\d+')
TOOK_RE = re.compile(r'pipeline in sync, (\d+) flows .*?\((\d+) added, (\d+) removed, '
                     r'(\d+) unchanged; ([^)]*)\).*took ([0-9.]+) s')
BUNDLE = 'in one atomic bundle'
SYNC = 'pipeline in sync'
LAT_VNI = 0x10000      # latency VPCs: LAT_VNI + i
BURST_VNI = 0x20000    # burst VPCs: BURST_VNI + i
ETCD_MAX_TXN_OPS = 128  # etcd's default --max-txn-ops
CLK_TCK = os.sysconf('SC_CLK_TCK')


def pct(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


def ms(seconds):
    return '%.1f' % (seconds * 1000.0)


def mac(kind, i, node_index):
    return 'fa:16:3e:%02x:%02x:%02x' % (kind << 4 | node_index, i >> 8 & 0xff, i & 0xff)


def port_id(kind, i, node_rec):
    return '%s%d-n%d' % (kind, i, node_rec['index'])


def cpu(pid):
    """(own utime+stime, waited-for children's cutime+cstime) of ``pid`` in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14..17.
    own = int(fields[11]) + int(fields[12])
    children = int(fields[13]) + int(fields[14])
    return own / CLK_TCK, children / CLK_TCK


def log_text(node_rec):
    with open(node_rec['ryu']['log'], errors='replace') as f:
        return f.read()


def log_counts(node_rec):
    text = log_text(node_rec)
    return {'bundles': text.count(BUNDLE), 'syncs': text.count(SYNC), 'size': len(text)}


def table4_vnis(lab, node_rec):
    out = lab.ovs(node_rec).ofctl('dump-flows', tun_bridge(node_rec), 'table=4')
    return {int(v, 16) for v in TUN_ID_RE.findall(out)}


class Poller:
    """One thread per node runs dump-flows on it every ``interval`` s (after the previous
    dump returns) until ``done``; the nodes are polled in parallel, so one node's dump does
    not delay another's observation. Keeps stats over every call to ``until``."""

    def __init__(self, lab, nodes, interval):
        self.lab, self.nodes, self.interval = lab, nodes, interval
        self.lock = threading.Lock()
        self.calls, self.busy = 0, 0.0
        self.gaps = []          # time between the starts of two successive dumps of one node
        self.first_hits = 0     # nodes whose very first dump already showed what we wanted
        self.waits = 0          # (node, until) pairs

    def _one(self, node, done, deadline, seen):
        last_start, first = None, True
        while True:
            start = time.perf_counter()
            vnis = table4_vnis(self.lab, node)
            end = time.perf_counter()
            ok = done(vnis)
            with self.lock:
                self.calls += 1
                self.busy += end - start
                if last_start is not None:
                    self.gaps.append(start - last_start)
                if ok:
                    seen[node['name']] = end
                    self.waits += 1
                    self.first_hits += first
            if ok or end > deadline:
                return
            last_start, first = start, False
            time.sleep(self.interval)

    def until(self, done, timeout):
        """{node name: time.perf_counter() at the end of the dump that first satisfied
        ``done``} for every node that got there within ``timeout``."""
        seen = {}
        deadline = time.perf_counter() + timeout
        threads = [threading.Thread(target=self._one, args=(n, done, deadline, seen))
                   for n in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return seen

    def summary(self):
        if not self.calls:
            return 'no dumps'
        gap = ('%s ms' % ms(sum(self.gaps) / len(self.gaps)) if self.gaps
               else 'n/a (never polled twice)')
        return ('%d dump-flows (one thread per node), %s ms each on average; a node re-polled '
                'every %s on average (sleep %s ms after each dump); the first dump already '
                'showed it for %d of %d node waits' % (
                    self.calls, ms(self.busy / self.calls), gap, ms(self.interval),
                    self.first_hits, self.waits))


def write_vpc_fleet(rec, nodes, kind, vni, i):
    runtime.register(rec, fleet.add_vpc, '%#x' % vni)
    for n in nodes:
        runtime.register(rec, fleet.add_port, n['name'], port_id(kind, i, n), '%#x' % vni,
                         mac(1 if kind == 'lat' else 2, i, n['index']))


def write_burst_batched(rec, nodes, first, count, per_txn):
    """The burst's records straight into etcd, ``per_txn`` VPCs per transaction (what the
    fleet functions would write, without their checks); returns the transactions made."""
    txns = 0
    with runtime.registry(rec) as reg:
        for start in range(0, count, per_txn):
            puts = {}
            for i in range(start, min(count, start + per_txn)):
                vni = first + i
                puts[vpc_key(reg.prefix, vni)] = vpc_value(VpcRecord(vni, None, None))
                for n in nodes:
                    p = PortRecord(n['name'], port_id('bur', i, n), vni,
                                   mac(2, i, n['index']), None)
                    puts[port_key(reg.prefix, p.node, p.port_id)] = port_value(p)
            if not reg.transaction(puts=puts):
                raise RuntimeError('etcd refused a transaction of %d puts' % len(puts))
            txns += 1
    return txns


def latency(lab, rec, nodes, samples, interval, timeout):
    poller = Poller(lab, nodes, interval)
    from_t0, from_last, writes, failures = [], [], [], []
    for i in range(samples):
        vni = LAT_VNI + i
        t0 = time.perf_counter()
        write_vpc_fleet(rec, nodes, 'lat', vni, i)
        t_last = time.perf_counter()
        seen = poller.until(lambda vnis, vni=vni: vni in vnis, timeout)
        if len(seen) < len(nodes):
            failures.append('VNI %#x not in table 4 of %s after %.0f s' % (
                vni, ', '.join(n['name'] for n in nodes if n['name'] not in seen), timeout))
            continue
        live = max(seen.values())
        writes.append(t_last - t0)
        from_t0.append(live - t0)
        from_last.append(live - t_last)
    return {'from_t0': from_t0, 'from_last': from_last, 'writes': writes,
            'failures': failures, 'poller': poller}


def sync_lines(text):
    return TOOK_RE.findall(text)


def burst(lab, rec, nodes, count, batch, interval, timeout):
    before = {n['name']: log_counts(n) for n in nodes}
    cpu_before = {n['name']: cpu(n['ryu']['pid']) for n in nodes}
    etcd_pid = rec['registry']['pid']
    etcd_before = cpu(etcd_pid)
    want = {BURST_VNI + i for i in range(count)}
    t0 = time.perf_counter()
    if batch:
        txns = write_burst_batched(rec, nodes, BURST_VNI, count, batch)
        how = '%d raw etcd transactions of %d VPCs (%d puts) each' % (
            txns, batch, batch * (1 + len(nodes)))
    else:
        for i in range(count):
            write_vpc_fleet(rec, nodes, 'bur', BURST_VNI + i, i)
        how = '%d fleet calls (vpc add + %d port adds per VPC, one etcd txn each)' % (
            count * (1 + len(nodes)), len(nodes))
    t_end = time.perf_counter()
    poller = Poller(lab, nodes, interval)
    seen = poller.until(lambda vnis: want <= vnis, timeout)
    t_conv = time.perf_counter()
    time.sleep(1.0)   # trailing syncs, if any, show up in the counts
    after = {n['name']: log_counts(n) for n in nodes}
    cpu_after = {n['name']: cpu(n['ryu']['pid']) for n in nodes}
    etcd_after = cpu(etcd_pid)
    per_node = {}
    for n in nodes:
        name = n['name']
        new_text = log_text(n)[before[name]['size']:]
        took = sync_lines(new_text)
        per_node[name] = {
            'converged_after_end': seen[name] - t_end if name in seen else None,
            'converged_after_start': seen[name] - t0 if name in seen else None,
            'bundles': after[name]['bundles'] - before[name]['bundles'],
            'syncs': after[name]['syncs'] - before[name]['syncs'],
            'sync_seconds_sum': sum(float(t[5]) for t in took),
            'sync_seconds_max': max((float(t[5]) for t in took), default=0.0),
            'max_added_in_one_sync': max((int(t[1]) for t in took), default=0),
            'cpu_own': cpu_after[name][0] - cpu_before[name][0],
            'cpu_children': cpu_after[name][1] - cpu_before[name][1],
        }
    return {'write_s': t_end - t0, 'how': how, 'per_node': per_node, 'poller': poller,
            'window_s': t_conv - t0,
            'etcd_cpu': etcd_after[0] - etcd_before[0], 'failures': [
                '%s: table 4 lacks %d of the %d burst VNIs %.0f s after the writes' % (
                    n['name'], len(want - table4_vnis(lab, n)), count, timeout)
                for n in nodes if n['name'] not in seen]}


def final_check(lab, nodes, expected_vnis):
    """Per node: (VNIs in table 4, table-22 flood flows), and whether both match."""
    result = {}
    for n in nodes:
        out = lab.ovs(n).ofctl('dump-flows', tun_bridge(n))
        vnis = {int(v, 16) for v in TUN_ID_RE.findall(out)}
        floods = len(FLOOD_RE.findall(out))
        result[n['name']] = (len(vnis), floods, expected_vnis <= vnis and floods == len(vnis))
    return result


def log_problems(node_rec, limit=5):
    lines = [line for line in log_text(node_rec).splitlines()
             if 'ERROR' in line or 'Traceback' in line or 'WARNING' in line]
    return lines, lines[:limit]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nodes', type=int, default=3, help='lab nodes (3)')
    parser.add_argument('--samples', type=int, default=50, help='latency samples (50)')
    parser.add_argument('--burst', type=int, default=1000, help='VPCs written in the burst (1000)')
    parser.add_argument('--batch', type=int, default=32, metavar='K',
                        help='burst: K VPCs per raw etcd transaction (32: 128 puts, etcd\'s '
                             'limit); 0: one fleet call per record, as the latency part does '
                             '(slow: minutes for 1000 VPCs)')
    parser.add_argument('--interval', type=float, default=0.02,
                        help='sleep between polling rounds, seconds (0.02)')
    parser.add_argument('--timeout', type=float, default=15.0,
                        help='latency: give up on one VPC after this many seconds (15)')
    parser.add_argument('--burst-timeout', type=float, default=120.0,
                        help='burst: give up this many seconds after the writes (120)')
    parser.add_argument('--prefix', default='brc%d-' % (os.getpid() % 1000),
                        help='namespace prefix (brc<pid>-)')
    parser.add_argument('--state-dir', default='/tmp/bench-regconv-%d' % os.getpid(),
                        help='lab state dir, must not exist (/tmp/bench-regconv-<pid>)')
    parser.add_argument('--keep-logs', metavar='DIR',
                        help='copy the ryu-manager and etcd logs here before the lab goes')
    args = parser.parse_args()
    require_root('the lab makes namespaces, OVS instances and etcd')
    if args.burst + args.samples + 1 > 4094:
        raise SystemExit('a node has local VLANs 1..4094: --burst + --samples too large')
    if args.batch and args.batch * (1 + args.nodes) > ETCD_MAX_TXN_OPS:
        raise SystemExit('--batch %d: %d puts per transaction, etcd takes %d' % (
            args.batch, args.batch * (1 + args.nodes), ETCD_MAX_TXN_OPS))

    lab = Lab(args.state_dir, out=lambda *a, **k: None)
    failures = []
    try:
        started = time.perf_counter()
        try:
            lab.up(nodes=args.nodes, prefix=args.prefix)
        except LabError as exc:
            raise SystemExit('lab up failed: %s' % exc)
        rec = lab.load()
        nodes = rec['nodes']
        print('lab: %d nodes up in %.1f s (state dir %s, prefix %s); %d CPUs'
              % (len(nodes), time.perf_counter() - started, args.state_dir, args.prefix,
                 os.cpu_count()))
        base_vnis = set.intersection(*(table4_vnis(lab, n) for n in nodes))

        lat = latency(lab, rec, nodes, args.samples, args.interval, args.timeout)
        failures += lat['failures']
        b = burst(lab, rec, nodes, args.burst, args.batch, args.interval, args.burst_timeout)
        failures += b['failures']
        expected = (base_vnis | {LAT_VNI + i for i in range(args.samples)} |
                    {BURST_VNI + i for i in range(args.burst)})
        final = final_check(lab, nodes, expected)
        for name, (vnis, floods, ok) in final.items():
            if not ok:
                failures.append('%s: table 4 has %d VNIs, table 22 %d flood flows; wanted %d '
                                'of each' % (name, vnis, floods, len(expected)))
        for n in nodes:
            ryu = n['ryu']
            if not os.path.exists('/proc/%d' % ryu['pid']):
                failures.append('ryu-manager of %s (pid %d) exited' % (n['name'], ryu['pid']))

        # --- the figures ---
        print()
        print('latency: %d VPCs, each = fleet vpc add + %d port adds (%d etcd txns), '
              'polled until the tun_id flow is in table 4 of all %d nodes'
              % (args.samples, len(nodes), 1 + len(nodes), len(nodes)))
        print('  polling: %s' % lat['poller'].summary())
        if lat['from_t0']:
            print('  %-38s %8s %8s %8s %8s' % ('ms', 'p50', 'p95', 'max', 'min'))
            for label, values in (('writes (t0 -> t_last)', lat['writes']),
                                  ('live on all nodes, from t0', lat['from_t0']),
                                  ('live on all nodes, from t_last', lat['from_last'])):
                print('  %-38s %8s %8s %8s %8s' % (label, ms(pct(values, 50)),
                                                   ms(pct(values, 95)), ms(max(values)),
                                                   ms(min(values))))
        print('  converged: %d/%d' % (len(lat['from_t0']), args.samples))

        print()
        print('burst: %d VPCs = %d records, written as %s'
              % (args.burst, args.burst * (1 + len(nodes)), b['how']))
        print('  write time: %.2f s (%.0f records/s)' % (
            b['write_s'], args.burst * (1 + len(nodes)) / b['write_s']))
        print('  polling after the writes: %s' % b['poller'].summary())
        print('  %-10s %12s %12s %8s %8s %10s %10s %10s %9s %9s' % (
            'node', 'conv after', 'conv after', 'bundles', 'syncs', 'sync s', 'sync s',
            'max added', 'ryu CPU', 'children'))
        print('  %-10s %12s %12s %8s %8s %10s %10s %10s %9s %9s' % (
            '', 'writes, s', 'start, s', '', '', 'sum', 'max', 'one sync', 's', 'CPU s'))
        for name, r in b['per_node'].items():
            conv_end = ('%.3f' % r['converged_after_end'] if r['converged_after_end'] is not None
                        else 'NOT')
            conv_start = ('%.3f' % r['converged_after_start']
                          if r['converged_after_start'] is not None else 'NOT')
            print('  %-10s %12s %12s %8d %8d %10.3f %10.3f %10d %9.2f %9.2f' % (
                name, conv_end, conv_start, r['bundles'], r['syncs'], r['sync_seconds_sum'],
                r['sync_seconds_max'], r['max_added_in_one_sync'], r['cpu_own'],
                r['cpu_children']))
        print('  etcd CPU over the burst: %.2f s; burst window (start of writes -> all '
              'converged): %.2f s' % (b['etcd_cpu'], b['window_s']))

        print()
        print('final: per node, VNIs in table 4 / flood flows in table 22 (wanted %d each): %s'
              % (len(expected), ', '.join('%s %d/%d' % (name, v, f)
                                          for name, (v, f, _) in final.items())))
        for n in nodes:
            lines, first = log_problems(n)
            print('%s ryu-manager log: %d ERROR/WARNING/Traceback lines%s' % (
                n['name'], len(lines), ':' if first else ''))
            for line in first:
                print('    ' + line[:300])
        if args.keep_logs:
            os.makedirs(args.keep_logs, exist_ok=True)
            for n in nodes:
                shutil.copy(n['ryu']['log'], os.path.join(args.keep_logs,
                                                          '%s-ryu-manager.log' % n['name']))
            shutil.copy(rec['registry']['log'], os.path.join(args.keep_logs, 'etcd.log'))
            print('logs copied to %s' % args.keep_logs)
    finally:
        lab.down(quiet=True)

    print()
    if failures:
        print('NOT CONVERGED:\n  ' + '\n  '.join(failures))
        return 1
    print('all converged')
    return 0


if __name__ == '__main__':
    sys.exit(main())
