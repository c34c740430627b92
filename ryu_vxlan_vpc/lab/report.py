"""What the lab prints: the report at the end of `lab up`, and `lab status`."""
import os
import sys

from .. import config, procs, shell
from ..bootstrap.state import parse_netns
from . import topology as topo_mod
from .topology import PHY_BRIDGE, UNDERLAY_BRIDGE

# The CLI of this installation: `ip netns exec` does not know the virtualenv's PATH.
CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')


def cli_name():
    """How the user reaches our CLI from here: .venv/bin/ryu-vxlan-vpc in a checkout."""
    rel = os.path.relpath(CLI)
    return rel if not rel.startswith('..') else CLI


def tun_bridge(node_rec):
    """The node's br-tun name (records of labs made before it was kept say br-tun)."""
    return node_rec.get('tun_bridge', 'br-tun')


def namespaces():
    """Names of the network namespaces that exist now."""
    return parse_netns(shell.run(['ip', '-j', 'netns', 'list']).stdout)


def up_report(lab, topo, rec, pings, seconds):
    """What `lab up` prints: the nodes, controllers, pings and compute2's table 20."""
    say = lab.out
    say('Lab up in %.1f s, state in %s' % (seconds, lab.state_dir))
    say('Underlay: namespace %s, Linux bridge %s joining %s'
        % (topo.underlay_netns, UNDERLAY_BRIDGE, ', '.join(n.name for n in topo.nodes)))
    for node, n in zip(topo.nodes, rec['nodes']):
        say('Node %s: namespace %s, VTEP %s/%d on %s, OVS in %s, bootstrap ran %d steps'
            % (node.name, node.netns, node.vtep, topo_mod.VTEP_PREFIX_LEN, PHY_BRIDGE,
               n['ovs_rundir'], n.get('bootstrap_steps', 0)))
        say('  config %s (from %s)' % (n['config'], n['source'] or 'the lab\'s generator'))
        for vm in node.vms():
            say('  VM namespace %s: %s in VNI %#x' % (vm.namespace, vm.address, vm.vni))
    if rec['standalone_check']:
        say('Standalone check: br-tun in fail_mode standalone, no controller, tunnels '
            'with key=%#x (no flows programmed)' % topo_mod.VPC_VNI)
    else:
        for n in rec['nodes']:
            say('Controller of %s: ryu-manager pid %d connected after %.1f s, %s holds '
                '%d pipeline flows (log %s)' % (n['name'], n['ryu']['pid'], n['connected_after'],
                                                tun_bridge(n), n['pipeline_flows'],
                                                n['ryu']['log']))
    for p in pings:
        say('')
        verdict = 'as expected' if p.as_expected else 'UNEXPECTED'
        say('Ping %s: %d/%d replies, %s' % (p.label, p.received, p.transmitted, verdict))
        say('$ ' + ' '.join(p.argv))
        say(p.output)
    # Every command shown is printed as the user runs it from here: `lab exec` puts it
    # in the node's namespace with OVS_RUNDIR set, which ovs-ofctl, ovs-appctl and our CLI
    # need to find that node's OVS and REST API.
    exec_on = '%s lab exec%s %%s' % (cli_name(), lab.state_flag())
    if not rec['standalone_check'] and len(rec['nodes']) > 1:
        n2 = rec['nodes'][1]
        say('')
        say('$ %s ovs-ofctl dump-flows %s table=20' % (exec_on % n2['name'], tun_bridge(n2)))
        say(lab.ovs(n2).ofctl('dump-flows', tun_bridge(n2), 'table=20').rstrip())
        for query in (['flows', '--table', '20'], ['macs']):
            say('')
            say('$ %s ryu-vxlan-vpc %s    # our REST API' % (exec_on % n2['name'],
                                                              ' '.join(query)))
            out = shell.run(shell.in_netns(n2['netns'], [CLI] + query), check=False)
            say((out.stdout + out.stderr).rstrip())
    elif len(rec['nodes']) > 1:
        n2 = rec['nodes'][1]
        say('')
        say('$ %s ovs-appctl fdb/show %s    # MACs it learned on its own'
            % (exec_on % n2['name'], tun_bridge(n2)))
        say(lab.ovs(n2).appctl('fdb/show', tun_bridge(n2)).rstrip())
    flag = lab.state_flag()
    me = cli_name()
    say('')
    say('Look around:')
    say('  %s lab status%s' % (me, flag))
    say('  %s lab exec%s compute2 ovs-ofctl dump-flows %s'
        % (me, flag, rec['nodes'][1].get('tun_bridge', 'br-tun')))
    if not rec['standalone_check']:
        say('  %s lab exec%s compute2 ryu-vxlan-vpc vpcs' % (me, flag))
    say('  %s lab exec%s compute1 ovs-vsctl show' % (me, flag))
    say('  %s lab exec%s compute1 ovs-appctl dpif/show' % (me, flag))
    first, second = topo.nodes[0].vms()[0], topo.nodes[1].vms()[0]
    say('  ip netns exec %s ping -c 3 %s' % (first.namespace, second.ip))
    say('Clean up: %s lab down%s' % (me, flag))


def status(lab):
    """Print the lab's state; returns 0 healthy, 1 degraded, 3 no lab."""
    rec = lab.load()
    if rec is None:
        lab.out('no lab in %s' % lab.state_dir)
        return 3
    present = namespaces()
    healthy = rec['status'] == 'up'
    lab.out('lab in %s: %s, %d nodes, built %s%s' % (
        lab.state_dir, rec['status'], len(rec['nodes']), rec['created'],
        ' (standalone check, no controllers)' if rec['standalone_check'] else ''))
    reg = rec.get('registry')
    if reg:
        up = procs.alive(reg['pid'], reg.get('started')) if reg.get('pid') else False
        lab.out('registry: etcd %s in namespace %s, pid %s %s' % (
            reg.get('endpoint'), reg['netns'], reg.get('pid'), 'running' if up else 'DOWN'))
        healthy &= up
    for n in rec['nodes']:
        ovs = lab.ovs(n)
        parts = ['namespace %s %s' % (n['netns'], 'ok' if n['netns'] in present
                                      else 'MISSING')]
        pids = ovs.pids()
        parts.append(', '.join('%s %d' % kv for kv in sorted(pids.items())) or 'OVS DOWN')
        healthy &= n['netns'] in present and len(pids) == 2
        ryu = n.get('ryu')
        if ryu and ryu.get('pid'):
            up = procs.alive(ryu['pid'], ryu.get('started'))
            parts.append('ryu-manager %d %s' % (ryu['pid'], 'running' if up else 'DOWN'))
            healthy &= up
        if len(pids) == 2:
            try:
                if ryu:
                    conn = ovs.vsctl('get', 'controller', tun_bridge(n),
                                     'is_connected').strip()
                    parts.append('connected' if conn == 'true' else 'NOT CONNECTED')
                    healthy &= conn == 'true'
                s = config.load_file(n['config'])
                parts.append('%s flows: %d total, %d pipeline, %d learned' % (
                    tun_bridge(n), lab.flow_count(n), lab.flow_count(n, s.flow_cookie),
                    lab.flow_count(n, s.learn_cookie)))
            except (shell.CommandError, config.ConfigError) as exc:
                parts.append('unreadable: %s' % str(exc).splitlines()[0])
                healthy = False
        lab.out('%s (VTEP %s): %s' % (n['name'], n['vtep'], '; '.join(parts)))
        for vm in n['vms']:
            seen = 'ok' if vm['namespace'] in present else 'MISSING'
            lab.out('  VM %s %s VNI %#x %s' % (vm['namespace'], vm['address'], vm['vni'], seen))
    return 0 if healthy else 1
