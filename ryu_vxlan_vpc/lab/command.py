"""``ryu-vxlan-vpc lab up|status|exec|down``: the article's compute nodes on this machine."""
import argparse
import ipaddress
import os
import sys

from ..registry.etcd import RegistryUnavailable
from ..registry.fleet import ConcurrentChange, FleetError
from ..registry.records import RecordError, parse_vni
from ..shell import CommandError

from .lab import DEFAULT_STATE_DIR, Lab, LabError, find_config_dir
from .topology import MAX_NODES

DESCRIPTION = '''Builds the article's compute nodes on this machine (root): one network namespace
per node, joined by veths to an underlay bridge; per node a private ovsdb-server +
ovs-vswitchd (userspace datapath) with the VTEP address on br-phy, `ryu-vxlan-vpc bootstrap`
of the node's config, and `ryu-manager ryu_vxlan_vpc.app` inside the node's namespace. The
nodes follow one etcd registry (in namespace etcd on the underlay), filled through the same
code as `ryu-vxlan-vpc fleet`; nodes and VMs can then be added and removed while it runs.
Then it pings from compute1's VM namespace to the others and prints compute2's table 20.'''


def register(subparsers):
    lab = subparsers.add_parser('lab', help='a multi-node lab on this machine (up, status, '
                                            'exec, down)', description=DESCRIPTION)
    sub = lab.add_subparsers(dest='lab_command', metavar='ACTION')
    sub.required = True

    def add(name, func, text):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument('--state-dir', default=DEFAULT_STATE_DIR, metavar='DIR',
                       help='where the lab keeps everything it made (default %(default)s); '
                            'lab up makes it (root\'s, mode 0700, with a marker file) and '
                            'refuses one it did not make')
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
    up.add_argument('--static', action='store_true',
                    help='no registry: each node gets a config file with the whole mesh '
                         '(remote_ips, vpcs with the article\'s local VLANs, vm_ports)')
    up.add_argument('--verbose', action='store_true', help='print every bootstrap command')
    an = add('add-node', cmd_add_node, 'a new compute node joins the running mesh '
                                       '(registered with `fleet node add`)')
    an.add_argument('--verbose', action='store_true', help='print every bootstrap command')
    rn = add('remove-node', cmd_remove_node, '`fleet node remove`, then stop the node\'s '
                                             'processes and remove its namespaces')
    rn.add_argument('node', metavar='NODE')
    av = add('add-vm', cmd_add_vm, 'a VM namespace on NODE: its br-int port carries the '
                                   'iface-id, then `fleet port add` binds it to the VPC')
    av.add_argument('node', metavar='NODE')
    av.add_argument('--vpc', required=True, metavar='VNI', help='hex (0x22) or decimal')
    av.add_argument('--ip', metavar='ADDRESS/PREFIX',
                    help='the VM\'s address (default: 192.168.<20 + VNI mod 200>.<10 + n>/24)')
    rv = add('remove-vm', cmd_remove_vm, '`fleet port remove`, then remove the VM\'s '
                                         'namespace and plumbing')
    rv.add_argument('vm', metavar='VM', help='the VM namespace or its port id')
    add('status', cmd_status, 'show nodes, processes, controllers and flow counts '
                              '(exit 0 healthy, 1 degraded, 2 state dir refused, 3 no lab)')
    add('down', cmd_down, 'stop every process and remove every namespace and file the lab '
                          'made (safe to run twice; exit 2: a state dir the lab did not make, '
                          'or not root\'s with mode 0700, is refused)')
    ex = add('exec', cmd_exec, 'run a command inside a node (its namespace, OVS_RUNDIR set '
                               'so ovs-vsctl / ovs-ofctl reach its OVS)')
    ex.add_argument('node', metavar='NODE', help='compute1, compute2, ... or a VM namespace '
                                                 '(RYU_VXLAN_VPC_ETCD is set to the lab\'s '
                                                 'etcd, for `ryu-vxlan-vpc fleet`)')
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
                       verbose=args.verbose, static=args.static)
    except LabError as exc:
        sys.stdout.flush()
        text = str(exc)
        print(text if text.startswith('lab up') else 'lab up: ' + text, file=sys.stderr)
        return exc.exit_code
    bad = [p for p in pings if not p.as_expected]
    for p in bad:
        print('lab up: ping %s: %d/%d replies, not as expected'
              % (p.label, p.received, p.transmitted), file=sys.stderr)
    return 1 if bad else 0


def _runtime(func):
    """A subcommand on a running lab: LabError and registry refusals are exit 1/2/3."""
    def command(args):
        try:
            said = func(Lab(args.state_dir), args)
        except LabError as exc:
            print('lab %s: %s' % (args.lab_command, exc), file=sys.stderr)
            return exc.exit_code
        except FleetError as exc:
            print('lab %s: %s' % (args.lab_command, exc), file=sys.stderr)
            return 2
        except (RegistryUnavailable, ConcurrentChange, CommandError) as exc:
            print('lab %s: %s' % (args.lab_command, exc), file=sys.stderr)
            return 1
        if said:
            print(said)
        return 0
    return command


@_runtime
def cmd_add_node(lab, args):
    n = lab.add_node(verbose=args.verbose)
    return ('node %s joined: namespace %s, VTEP %s, ryu-manager pid %d'
            % (n['name'], n['netns'], n['vtep'], n['ryu']['pid']))


@_runtime
def cmd_remove_node(lab, args):
    return lab.remove_node(args.node)


@_runtime
def cmd_add_vm(lab, args):
    try:
        vni = parse_vni(args.vpc)
    except RecordError as exc:
        raise LabError(str(exc), 2) from None
    if args.ip is not None:
        try:
            args.ip = str(ipaddress.IPv4Interface(args.ip))
        except ValueError:
            raise LabError('--ip %r: expected IPv4/PREFIX, e.g. 192.168.40.11/24' % args.ip,
                           2) from None
    vm, said = lab.add_vm(args.node, vni, args.ip)
    return '%s\nVM %s on %s: %s, MAC %s, port %s' % (said, vm['namespace'], vm['node'],
                                                     vm['address'], vm['mac'], vm['port_id'])


@_runtime
def cmd_remove_vm(lab, args):
    return lab.remove_vm(args.vm)


def _on_recorded_lab(action):
    """A subcommand calling ``Lab.<action>()`` on the lab in --state-dir."""
    def command(args):
        try:
            return getattr(Lab(args.state_dir), action)()
        except LabError as exc:
            print('lab %s: %s' % (args.lab_command, exc), file=sys.stderr)
            return exc.exit_code
    return command


cmd_status = _on_recorded_lab('status')
cmd_down = _on_recorded_lab('down')


def cmd_exec(args):
    try:
        rec = Lab(args.state_dir).load()
    except LabError as exc:
        print('lab exec: %s' % exc, file=sys.stderr)
        return exc.exit_code
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
    if rec.get('registry'):  # `ryu-vxlan-vpc fleet` inside a node reaches the lab's etcd
        env['RYU_VXLAN_VPC_ETCD'] = rec['registry']['endpoint']
    if netns is None and args.node in rec['namespaces']:
        netns = args.node
    if netns is None:
        print('lab exec: %r is neither a node nor a namespace of the lab (nodes: %s)'
              % (args.node, ', '.join(n['name'] for n in rec['nodes'])), file=sys.stderr)
        return 2
    os.execvpe('ip', ['ip', 'netns', 'exec', netns] + args.argv, env)
