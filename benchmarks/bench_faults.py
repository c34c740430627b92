#!/usr/bin/env python3
"""Benchmark: what faults cost a running overlay (issue 10's re-measure).

Run as root from the repo's virtualenv:
    sudo .venv/bin/python benchmarks/bench_faults.py [--pps 60] [--seconds 50]
A two-node registry lab (its own state dir and namespace prefix, removed at the end);
compute1's VM pings compute2's at --pps for --seconds while, one after the other:
  1. compute1's ryu-manager is killed with SIGKILL and started again 5 s later;
  2. compute1's ovs-vswitchd is killed with SIGKILL and started again 2 s later (its
     datapath, ports and flows are gone; OVSDB keeps the configuration).
Printed: pings sent and lost for each fault, and for the vswitchd restart the seconds from
its start until br-tun holds the pipeline again (all flows with our cookie). A benchmark,
not a test: exit 1 only when the pipeline did not come back.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

from benchlib import fresh_state_dir
from ryu_vxlan_vpc import procs
from ryu_vxlan_vpc.lab.lab import Lab
from ryu_vxlan_vpc.shell import run

C2_VM = '192.168.10.12'


def pinger(netns, dst, pps, seconds):
    return subprocess.Popen(['ip', 'netns', 'exec', netns, 'ping', '-n', '-i', '%.4f' % (1.0 / pps),
                             '-W', '1', '-c', str(int(pps * seconds)), dst],
                            stdout=subprocess.PIPE, text=True)


def ping_result(proc):
    out = proc.communicate(timeout=600)[0]
    m = re.search(r'(\d+) packets transmitted, (\d+) received', out)
    return int(m.group(1)), int(m.group(2))


def ours(ovs):
    out = ovs.ofctl('dump-flows', 'br-tun', 'cookie=0x79/-1')
    return sum(1 for line in out.splitlines() if 'cookie=0x79' in line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pps', type=float, default=60.0)
    parser.add_argument('--seconds', type=float, default=25.0, help='per fault (25)')
    parser.add_argument('--prefix', default='flt%d-' % (os.getpid() % 1000))
    args = parser.parse_args()
    state = fresh_state_dir('faults')
    lab = Lab(state, out=lambda line: None)
    ok = True
    try:
        lab.up(nodes=2, prefix=args.prefix)
        rec = lab.load()
        c1 = lab.node(rec, 'compute1')
        vm = next(v['namespace'] for v in c1['vms'])
        ovs = lab.ovs(c1)
        pipeline = ours(ovs)

        # 1. ryu-manager killed under ping.
        ping = pinger(vm, C2_VM, args.pps, args.seconds)
        time.sleep(5)
        os.kill(c1['ryu']['pid'], signal.SIGKILL)
        procs.reap(c1['ryu']['pid'])
        time.sleep(5)
        lab.restart_ryu('compute1')
        sent, got = ping_result(ping)
        print('ryu-manager kill -9 (down 5 s) under %.0f pps: %d pings, %d lost'
              % (args.pps, sent, sent - got))

        # 2. ovs-vswitchd killed and started again under ping.
        ping = pinger(vm, C2_VM, args.pps, args.seconds)
        time.sleep(5)
        pid = ovs.pids()['ovs-vswitchd']
        os.kill(pid, signal.SIGKILL)
        time.sleep(2)
        started = time.monotonic()
        run(['ovs-vswitchd', ovs.db, '--pidfile=%s/ovs-vswitchd.pid' % ovs.rundir,
             '--log-file=%s/ovs-vswitchd.log' % ovs.rundir, '--detach'],
            netns=ovs.netns, env=ovs.env)
        back = None
        while time.monotonic() - started < 60:
            try:
                if ours(ovs) >= pipeline:
                    back = time.monotonic() - started
                    break
            except Exception:
                pass
            time.sleep(0.02)
        sent, got = ping_result(ping)
        print('ovs-vswitchd kill -9 (down 2 s) under %.0f pps: %d pings, %d lost; pipeline '
              '(%d flows) back %s after its start' % (
                  args.pps, sent, sent - got, pipeline,
                  'never' if back is None else '%.2f s' % back))
        ok = back is not None
    finally:
        lab.down(quiet=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
