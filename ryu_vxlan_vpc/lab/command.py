"""``ryu-vxlan-vpc lab up|status|exec|down``: the article's compute nodes on this machine."""
import argparse
import os
import sys

from .lab import DEFAULT_STATE_DIR, Lab, LabError, find_config_dir
from .topology import MAX_NODES

DESCRIPTION = '''Builds the article's compute nodes on this machine (root): one network namespace
per node, joined by veths to an underlay bridge; per node a private ovsdb-server +
ovs-vswitchd (userspace datapath) with the VTEP address on br-phy, `ryu-vxlan-vpc bootstrap`
of the node's config, and `ryu-manager ryu_vxlan_vpc.app` inside the node's namespace. Then
it pings from compute1's VM namespace to the others and prints compute2's table 20.'''


def register(subparsers):
    lab = subparsers.add_parser('lab', help='a multi-node lab on this machine (up, status, '
                                            'exec, down)', description=DESCRIPTION)
    sub = lab.add_subparsers(dest='lab_command', metavar='ACTION')
    sub.required = True

    def add(name, func, text):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument('--state-dir', default=DEFAULT_STATE_DIR, metavar='DIR',
                       help='where the lab keeps everything it made (default %(default)s)')
        p.set_defaults(func=func)
        return p

    up = add('up', cmd_up, 'build the lab, wait for the pipelines, ping across the overlay')
    up.add_argument('--nodes', type=int, default=2, metavar='N',
                    help='compute nodes, full mesh (2..%d, default 2)' % MAX_NODES)
    up.add_argument('--second-vpc', action='store_true',
                    help='also a VM in VNI 0x23 on every node, to show VPC isolation')
    up.add_argument('--standalone-check', action='store_true',
                    help="the article's underlay check: no controllers, br-tun standalone, "
                         'tunnels with key=0x22')
    up.add_argument('--config-dir', metavar='DIR',
                    help='where compute1.conf and compute2.conf are (default: '
                         'etc/ryu_vxlan_vpc of the checkout)')
    up.add_argument('--prefix', default='', metavar='P',
                    help='prefix of every namespace name, so labs can coexist (tests use it)')
    up.add_argument('--verbose', action='store_true', help='print every bootstrap command')
    add('status', cmd_status, 'show nodes, processes, controllers and flow counts '
                              '(exit 0 healthy, 1 degraded, 3 no lab)')
    add('down', cmd_down, 'stop every process and remove every namespace and file the lab '
                          'made (safe to run twice)')
    ex = add('exec', cmd_exec, 'run a command inside a node (its namespace, OVS_RUNDIR set '
                               'so ovs-vsctl / ovs-ofctl reach its OVS)')
    ex.add_argument('node', metavar='NODE', help='compute1, compute2, ... or a VM namespace')
    ex.add_argument('argv', nargs=argparse.REMAINDER, metavar='COMMAND...')


def cmd_up(args):
    lab = Lab(args.state_dir)
    config_dir = args.config_dir or find_config_dir()
    if args.config_dir and not os.path.isdir(args.config_dir):
        print('lab up: --config-dir %s: no such directory' % args.config_dir, file=sys.stderr)
        return 2
    try:
        pings = lab.up(nodes=args.nodes, prefix=args.prefix, second_vpc=args.second_vpc,
                       standalone_check=args.standalone_check, config_dir=config_dir,
                       verbose=args.verbose)
    except LabError as exc:
        sys.stdout.flush()
        print(exc, file=sys.stderr)
        return exc.exit_code
    bad = [p for p in pings if not p.as_expected]
    for p in bad:
        print('lab up: ping %s: %d/%d replies, not as expected'
              % (p.label, p.received, p.transmitted), file=sys.stderr)
    return 1 if bad else 0


def _on_recorded_lab(action):
    """A subcommand calling ``Lab.<action>()`` on the lab in --state-dir."""
    def command(args):
        try:
            return getattr(Lab(args.state_dir), action)()
        except LabError as exc:
            print(exc, file=sys.stderr)
            return 1
    return command


cmd_status = _on_recorded_lab('status')
cmd_down = _on_recorded_lab('down')


def cmd_exec(args):
    rec = Lab(args.state_dir).load()
    if rec is None:
        print('no lab in %s' % args.state_dir, file=sys.stderr)
        return 3
    if not args.argv:
        print('lab exec: give a command to run', file=sys.stderr)
        return 2
    env = dict(os.environ)
    # Our own commands (ryu-vxlan-vpc, ryu-manager) are found without activating the venv.
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    netns = None
    for n in rec['nodes']:
        if args.node in (n['name'], n['netns']):
            netns = n['netns']
            env['OVS_RUNDIR'] = n['ovs_rundir']
    if netns is None and args.node in rec['namespaces']:
        netns = args.node
    if netns is None:
        print('lab exec: %r is neither a node nor a namespace of the lab (nodes: %s)'
              % (args.node, ', '.join(n['name'] for n in rec['nodes'])), file=sys.stderr)
        return 2
    os.execvpe('ip', ['ip', 'netns', 'exec', netns] + args.argv, env)
