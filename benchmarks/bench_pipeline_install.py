#!/usr/bin/env python3
"""Benchmark: the app programming a large br-tun pipeline, against ovs-ofctl --bundle.

Run as root from the repo's virtualenv:
    sudo .venv/bin/python benchmarks/bench_pipeline_install.py [--vpcs 4000] [--tunnels 16]
A private OVS in a fresh network namespace gets a br-tun with T VXLAN ports; the real
ryu-manager with our app and V VPCs (2 flows each in tables 4 and 22, plus one per tunnel in
table 0) programs it. Timed in the same run, on the same OVS:
  - first sync after connect    (flow dump of an empty bridge, diff, one bundle, barrier)
  - resync after a restart      (dump of everything, diff, nothing to send)
  - one tunnel port added       (table 0 gains a flow, every table-22 flood flow is replaced)
  - ovs-ofctl --bundle add-flows of the same flows on a second bridge (the reference)
The app's figures come from its own sync report (``last_sync`` of GET /vxlan-vpc/switches:
seconds, and where they went: read, plan, send), not from its log. Everything made is removed
at the end. A benchmark, not a test: it only checks the flow counts.
"""
import argparse
import os
import re
import sys
import time

from benchlib import last_sync, require_root
from ryu_vxlan_vpc.config import Vpc, tunnel_port_name
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.ovs_instance import private_ovs
from ryu_vxlan_vpc.procs import poll
from ryu_vxlan_vpc.pipeline import br_tun
from ryu_vxlan_vpc.ryu_process import RyuManager
from ryu_vxlan_vpc.shell import run



def remote(i):
    return '172.22.%d.%d' % (i // 250, 1 + i % 250)


def vpcs(count):
    return [Vpc(0x1000 + i, 1 + i) for i in range(count)]


def build_br_tun(ovs, tunnels):
    """br-tun as bootstrap makes it; patch-int is an internal port (no br-int needed)."""
    ovs.vsctl('add-br', 'br-tun', '--', 'set', 'bridge', 'br-tun', 'datapath_type=netdev',
              'fail-mode=secure', 'protocols=OpenFlow10,OpenFlow13',
              '--', 'set-controller', 'br-tun', 'tcp:127.0.0.1:6633',
              '--', 'set', 'controller', 'br-tun', 'max_backoff=1000',
              'connection_mode=out-of-band')
    ovs.vsctl('add-port', 'br-tun', 'patch-int', '--', 'set', 'interface', 'patch-int',
              'type=internal', 'ofport_request=1')
    for i in range(tunnels):
        add_tunnel(ovs, i)


def add_tunnel(ovs, i):
    port = tunnel_port_name(remote(i))
    ovs.vsctl('add-port', 'br-tun', port, '--', 'set', 'interface', port, 'type=vxlan',
              'options:remote_ip=%s' % remote(i), 'options:in_key=flow', 'options:out_key=flow',
              'ofport_request=%d' % (i + 2))


def count_flows(ovs, bridge, cookie=0x79):
    out = ovs.ofctl('dump-aggregate', bridge, 'cookie=%#x/-1' % cookie)
    return int(re.search(r'flow_count=(\d+)', out).group(1))


def wait_report(ryu, netns, timeout, newer_than=0.0, flows=None):
    """The app's sync report once one finished after ``newer_than`` (and, if given, for
    ``flows`` flows): what REST serves, the same data the log line is made from."""
    def ready():
        report = last_sync(netns)
        if report and report['finished'] > newer_than and flows in (None, report['flows']):
            return report
        return None
    found = poll(ready, timeout, interval=0.1)
    if not found:
        raise SystemExit('timed out waiting for a sync report; log tail:\n%s'
                         % ryu.log()[-2000:])
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--vpcs', type=int, default=4000, help='VPCs, 1..4094 (4000)')
    parser.add_argument('--tunnels', type=int, default=16, help='VXLAN ports (16)')
    args = parser.parse_args()
    require_root('it creates a network namespace and an OVS instance')
    if not 1 <= args.vpcs <= 4094:
        raise SystemExit('--vpcs %d: a node has local VLANs 1..4094' % args.vpcs)

    with private_ovs('bench') as (ovs, workdir):
        netns, ryu = ovs.netns, None
        try:
            build_br_tun(ovs, args.tunnels)
            conf = os.path.join(workdir, 'node.conf')
            with open(conf, 'w') as f:
                f.write('[vxlan_vpc]\nlocal_ip = 172.21.12.163\nremote_ips = %s\nvpcs = %s\n' % (
                    ', '.join(remote(i) for i in range(args.tunnels + 1)),
                    ', '.join('%#x:%d' % (v.vni, v.local_vlan) for v in vpcs(args.vpcs))))

            def start_app(log):
                return RyuManager(netns, conf, os.path.join(workdir, log)).start()

            ryu = start_app('ryu1.log')
            first = wait_report(ryu, netns, 300)
            ryu.stop()
            ryu = start_app('ryu2.log')
            restart = wait_report(ryu, netns, 300)
            add_tunnel(ovs, args.tunnels)
            added = wait_report(ryu, netns, 300, restart['finished'],
                                flows=restart['flows'] + 1)
            total = count_flows(ovs, 'br-tun')
            if total != added['flows']:
                raise SystemExit('br-tun holds %d flows, the app says %d'
                                 % (total, added['flows']))

            # The reference: the same flow set, loaded by ovs-ofctl in one bundle.
            state = br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=tuple(
                range(2, args.tunnels + 3)), vpcs=tuple(vpcs(args.vpcs)))
            flows = br_tun.build(state)
            flows_file = os.path.join(workdir, 'flows.txt')
            with open(flows_file, 'w') as f:
                f.writelines(text.render(flow) + '\n' for flow in flows)
            ovs.vsctl('add-br', 'br-ref', '--', 'set', 'bridge', 'br-ref', 'datapath_type=netdev',
                      'fail-mode=secure')
            start = time.perf_counter()
            run(['ovs-ofctl', '-O', 'OpenFlow13', '--bundle', 'add-flows', ovs.mgmt('br-ref'),
                 flows_file], netns=netns, env=ovs.env, timeout=600)
            ref_s = time.perf_counter() - start
            if count_flows(ovs, 'br-ref') != len(flows):
                raise SystemExit('br-ref holds %d flows, wanted %d'
                                 % (count_flows(ovs, 'br-ref'), len(flows)))

            print('br-tun: %d VPCs, %d then %d tunnels -> %d then %d pipeline flows'
                  % (args.vpcs, args.tunnels, args.tunnels + 1, first['flows'], added['flows']))
            print('%-44s %8s %6s %6s %6s %8s %8s %s' % ('what', 'seconds', 'read', 'plan',
                                                         'send', 'added', 'removed', 'how'))
            for name, r in (('app: first sync after connect', first),
                            ('app: resync after restart (nothing to do)', restart),
                            ('app: tunnel port added', added)):
                print('%-44s %8.3f %6.2f %6.2f %6.2f %8d %8d %s' % (
                    name, r['seconds'], r['read_seconds'], r['plan_seconds'],
                    r['send_seconds'], r['added'], r['removed'], r['how']))
            print('%-44s %8.3f %6s %6s %6s %8d %8s %s' % (
                'ovs-ofctl --bundle add-flows (reference)', ref_s, '', '', '', len(flows), '-',
                'one bundle'))
            print('first sync / ovs-ofctl: %.1fx' % (first['seconds'] / ref_s))
        finally:
            if ryu:
                ryu.stop()


if __name__ == '__main__':
    sys.exit(main())
