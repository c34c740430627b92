"""``ryu-vxlan-vpc bootstrap`` and ``ryu-vxlan-vpc teardown``.

Exit status: 0 done, 1 a command failed (it is shown with its stderr) or, for bootstrap,
OVS did not make a bridge or interface of the plan (each is shown with OVS's error), 2 bad
config or arguments (nothing was run).
"""
import os
import sys

from .. import config, shell
from . import readback
from .execute import NoSuchNamespace, apply, print_plan, read_ovs
from .plan import PlanError, Target, plan_bootstrap, plan_teardown, stale_tunnels

EPILOG = '''Target: by default the local Open vSwitch and this network namespace. --ovs-rundir DIR
(or --db unix:DIR/db.sock) aims at a private OVS such as the lab's; --netns NAME runs the ip
commands in the node's namespace (ip -n NAME). The VM namespaces of vm_ports are global.'''


def register(subparsers):
    for name, planner, text in (
            ('bootstrap', plan_bootstrap,
             'create br-tun, br-int, patch ports, VXLAN ports and VM ports of a node '
             '(idempotent)'),
            ('teardown', plan_teardown,
             'remove what bootstrap made for this config, and nothing else')):
        p = subparsers.add_parser(name, help=text, description=text[0].upper() + text[1:] + '.',
                                  epilog=EPILOG)
        p.add_argument('--config-file', required=True, metavar='FILE',
                       help='the [vxlan_vpc] config, the same file ryu-manager reads')
        p.add_argument('--dry-run', action='store_true',
                       help='print every command of the plan, one per line, and run none '
                            '(a real run skips the steps already done and, for bootstrap, '
                            'also removes the tunnels it made whose address left remote_ips: '
                            'finding those needs a look at OVS, which a dry run does not take)')
        p.add_argument('--db', metavar='REMOTE', help='ovsdb remote, e.g. unix:/run/x/db.sock')
        p.add_argument('--ovs-rundir', metavar='DIR',
                       help='run directory of a private OVS (its db.sock is used)')
        p.add_argument('--netns', metavar='NAME', help="the node's network namespace")
        if name == 'bootstrap':
            p.add_argument('--standalone-check', nargs='?', const='first', metavar='VNI',
                           help="the article's underlay check without flows: br-tun "
                                'standalone, no controller, tunnels with key=VNI (default: '
                                'the first of vpcs). Run bootstrap without it to go back.')
        p.set_defaults(func=lambda args, planner=planner, name=name: run(args, planner, name))


def _standalone_vni(text, settings):
    if text is None:
        return None
    if text == 'first':
        if not settings.vpcs:
            raise PlanError('--standalone-check', text, 'no VPC configured (vpcs is empty)')
        return settings.vpcs[0].vni
    try:
        return int(text, 0)
    except ValueError:
        raise PlanError('--standalone-check', text, 'not a VNI (decimal or 0x hex)') from None


def _stale_tunnels(settings, target, dry_run):
    """Our tunnels (marked) whose remote left remote_ips, from the node's OVS database.

    A dry run reads nothing, so it cannot list them: it says so instead."""
    if dry_run:
        return ()
    _, ports = read_ovs(target)
    return stale_tunnels(settings, ports)


def run(args, planner, verb):
    try:
        settings = config.load_file(args.config_file)
        target = Target.make(db=args.db, ovs_rundir=args.ovs_rundir, netns=args.netns)
        if verb == 'bootstrap':
            plan = planner(settings, target,
                           _standalone_vni(getattr(args, 'standalone_check', None), settings),
                           _stale_tunnels(settings, target, args.dry_run))
        else:
            plan = planner(settings, target)
    except (config.ConfigError, PlanError) as exc:
        print('ryu-vxlan-vpc %s: %s' % (verb, exc), file=sys.stderr)
        print('nothing was changed', file=sys.stderr)
        return 2
    except (shell.CommandError, ValueError) as exc:
        print('ryu-vxlan-vpc %s: cannot read the OVS database: %s' % (verb, exc),
              file=sys.stderr)
        print('nothing was changed', file=sys.stderr)
        return 1
    if args.dry_run:
        print_plan(plan)
        return 0
    where = ', '.join(x for x in ('ovsdb ' + target.db if target.db else '',
                                  'netns ' + target.netns if target.netns else '') if x)
    print('%s of %s%s: %d steps' % (verb, args.config_file, ' (%s)' % where if where else '',
                                     len(plan.steps)))
    try:
        apply(plan, target, verb)
        # Also when nothing ran: a finished-looking database says nothing about whether
        # ovs-vswitchd could make what it describes.
        failed = readback.read_back(plan, target) if plan.interfaces else []
    except (shell.CommandError, NoSuchNamespace, readback.NotApplied) as exc:
        sys.stdout.flush()
        print('ryu-vxlan-vpc %s: stopped: %s' % (verb, exc), file=sys.stderr)
        if os.geteuid() != 0:
            print('(not running as root: ip and ovs-vsctl usually need root)', file=sys.stderr)
        return 1
    if failed:
        sys.stdout.flush()
        for line in readback.explain(failed, target, verb, args.config_file):
            print(line, file=sys.stderr)
        return 1
    if plan.interfaces:
        print('read back: %d bridges and interfaces, each with an OpenFlow port'
              % len(plan.interfaces))
    return 0
