"""``ryu-vxlan-vpc fleet``: the operator's view of the registry in etcd.

It talks to etcd only, never to a controller: every controller following the registry
picks the change up by itself.
"""
import argparse
import json
import os
import sys

from ryu_vxlan_vpc.registry.records import (
    DEFAULT_ENDPOINT, DEFAULT_PREFIX, RecordError, fleet_to_json)

ETCD_ENV = 'RYU_VXLAN_VPC_ETCD'

EPILOG = """\
VNIs are decimal or 0x hex (34 or 0x22), 1..16777215. Adding what is already there is a
no-op ("unchanged"); adding with other values updates it; removing what is absent says
"not there". Related writes go in one etcd transaction, so a refused or failed command
writes nothing.

exit status: 0 done (or nothing to do), 1 etcd unreachable or kept changing under us,
2 bad input or refused (e.g. a duplicate local_ip or MAC, an unknown node or VPC)."""


def _node_add(ops, reg, a):
    return ops.add_node(reg, a.name, a.local_ip)


def _node_remove(ops, reg, a):
    return ops.remove_node(reg, a.name)


def _vpc_add(ops, reg, a):
    return ops.add_vpc(reg, a.vni, name=a.name, cidr=a.cidr)


def _vpc_remove(ops, reg, a):
    return ops.remove_vpc(reg, a.vni, force=a.force)


def _port_add(ops, reg, a):
    return ops.add_port(reg, a.node, a.port_id, a.vpc, a.mac, ip=a.ip)


def _port_remove(ops, reg, a):
    return ops.remove_port(reg, a.node, a.port_id)


def _show(ops, reg, a):
    current, problems = ops.show(reg)
    if a.json:
        doc = fleet_to_json(current)
        doc['problems'] = [{'key': k, 'reason': r} for k, r in problems]
        return json.dumps(doc, indent=2)
    return ops.format_table(current, problems)


def run(args):
    # Imported here, not at the top: etcd3gw pulls in requests and eventlet, which every
    # other ryu-vxlan-vpc subcommand would otherwise pay for at start-up.
    from ryu_vxlan_vpc.registry import fleet
    from ryu_vxlan_vpc.registry.etcd import Registry, RegistryUnavailable
    try:
        registry = Registry(args.etcd, prefix=args.prefix)
    except (ValueError, RecordError) as e:   # a bad --etcd or --prefix
        return _fail(str(e), 2)
    try:
        print(args.action(fleet, registry, args))
    except fleet.FleetError as e:
        return _fail('%s; nothing was written' % e, 2)
    except (RegistryUnavailable, fleet.ConcurrentChange) as e:
        return _fail(str(e), 1)
    return 0


def _fail(message, status):
    print('ryu-vxlan-vpc fleet: %s' % message, file=sys.stderr)
    return status


def _leaf(parent, name, action, help_text):
    p = parent.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:]
                          + '.')
    p.set_defaults(action=action)
    return p


def _group(parent, name, help_text):
    p = parent.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:]
                          + '.')
    sub = p.add_subparsers(dest=name + '_op', metavar='{add,remove}')
    sub.required = True
    return sub


def register(subparsers):
    text = 'manage the fleet registry in etcd: nodes, VPCs, VM ports'
    p = subparsers.add_parser('fleet', help=text, epilog=EPILOG,
                              description=text[0].upper() + text[1:] + '.',
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--etcd', metavar='HOST:PORT[,...]',
                   default=os.environ.get(ETCD_ENV) or DEFAULT_ENDPOINT,
                   help='etcd client endpoints, tried in order (default: $%s, else %s)'
                        % (ETCD_ENV, DEFAULT_ENDPOINT))
    p.add_argument('--prefix', default=DEFAULT_PREFIX,
                   help='key prefix of the registry (default: %(default)s)')
    p.set_defaults(func=run)
    what = p.add_subparsers(dest='fleet_what', metavar='{node,vpc,port,show}')
    what.required = True

    node = _group(what, 'node', 'compute nodes and their VTEP address')
    a = _leaf(node, 'add', _node_add, 'add a node, or change its local_ip')
    a.add_argument('name', metavar='NAME', help='node name, e.g. compute1')
    a.add_argument('--local-ip', required=True, metavar='IP',
                   help="the node's VTEP (tunnel endpoint) IPv4 address")
    r = _leaf(node, 'remove', _node_remove, 'remove a node and all its ports')
    r.add_argument('name', metavar='NAME')

    vpc = _group(what, 'vpc', 'VPCs, one per VNI')
    a = _leaf(vpc, 'add', _vpc_add, 'add a VPC, or set its name and cidr')
    a.add_argument('vni', metavar='VNI', help='1..16777215, decimal or 0x hex')
    a.add_argument('--name', help='a label for people')
    a.add_argument('--cidr', help="the VPC's IPv4 subnet, e.g. 192.168.10.0/24; port IPs "
                                  'must fall inside it')
    r = _leaf(vpc, 'remove', _vpc_remove, 'remove a VPC (refused while it has ports)')
    r.add_argument('vni', metavar='VNI')
    r.add_argument('--force', action='store_true', help='remove its ports with it')

    port = _group(what, 'port', "VM ports, bound by the Interface's external_ids:iface-id")
    a = _leaf(port, 'add', _port_add, 'add a VM port to a node and a VPC, or change it')
    a.add_argument('node', metavar='NODE')
    a.add_argument('port_id', metavar='PORT_ID', help='the iface-id of the VM interface')
    a.add_argument('--vpc', required=True, metavar='VNI', help="the port's VPC")
    a.add_argument('--mac', required=True, help="the VM's MAC, unique within the VPC")
    a.add_argument('--ip', help="the VM's IPv4 address (inside the VPC's cidr if it has one)")
    r = _leaf(port, 'remove', _port_remove, 'remove a VM port')
    r.add_argument('node', metavar='NODE')
    r.add_argument('port_id', metavar='PORT_ID')

    s = _leaf(what, 'show', _show, 'print nodes, VPCs and ports (and records skipped as '
                                   'malformed)')
    s.add_argument('--json', action='store_true',
                   help='print JSON: {"nodes": [...], "vpcs": [...], "ports": [...], '
                        '"problems": [...]}')

