"""Operator actions on the registry: add/remove nodes, VPCs and ports, show the fleet.

Each action reads the registry, checks the request against it, and writes what belongs
together in one etcd transaction guarded by compares on what it read: if anyone changed
those keys meanwhile the transaction does nothing and the action starts over (a few times).
So a refused or failed action has written nothing.

Errors: FleetError (bad input or a refused change: exit 2), RegistryUnavailable and
ConcurrentChange (exit 1). Each action returns one line saying what changed.
"""
import ipaddress
from collections import namedtuple

from ryu_vxlan_vpc.registry.records import (
    NodeRecord, PortRecord, RecordError, VpcRecord, node_key, node_value, nodes_dir,
    parse_cidr, parse_fleet, parse_ipv4, parse_mac, parse_node_name, parse_port_id,
    parse_record, parse_vni, parse_vpc_name, port_key, port_value, ports_dir, vpc_key,
    vpc_value)

ATTEMPTS = 5


class FleetError(Exception):
    """The request is invalid or refused; nothing was written (exit status 2)."""


class ConcurrentChange(Exception):
    """Others kept changing the registry while we tried; nothing was written (exit 1)."""


class _Snapshot:
    """What one read saw: raw values with their mod revisions, and the parsed fleet."""

    def __init__(self, prefix, kvs, revision):
        self.prefix, self.kvs, self.revision = prefix, kvs, revision
        self.fleet, self.problems = parse_fleet(prefix, {k: v for k, (v, _) in kvs.items()})

    def mod(self, key):
        return self.kvs.get(key, (None, 0))[1]

    def exists(self, key):
        return key in self.kvs

    def record(self, key):
        """The stored record, or None if absent or malformed."""
        if key not in self.kvs:
            return None
        try:
            return parse_record(self.prefix, key, self.kvs[key][0])
        except RecordError:
            return None

    def ports_under(self, prefix):
        """Every well-formed port record under ``prefix``, known node and VPC or not."""
        return [rec for rec in (self.record(k) for k in sorted(self.kvs) if k.startswith(prefix))
                if isinstance(rec, PortRecord)]


_Write = namedtuple('_Write', 'message compares puts deletes delete_prefixes unchanged_since')


def _write(message, compares, puts=None, deletes=(), delete_prefixes=(), unchanged_since=()):
    return _Write(message, compares, puts or {}, deletes, delete_prefixes, unchanged_since)


def _apply(registry, plan):
    """plan(snapshot) -> a message (nothing to write) or a _Write; retried on conflicts."""
    for _ in range(ATTEMPTS):
        kvs, revision = registry.read_all_meta()
        change = plan(_Snapshot(registry.prefix, kvs, revision))
        if isinstance(change, str):
            return change
        if registry.transaction(compares=change.compares, puts=change.puts,
                                deletes=change.deletes, delete_prefixes=change.delete_prefixes,
                                unchanged_since=change.unchanged_since):
            return change.message
    raise ConcurrentChange('the registry at %s kept changing while we tried to write (%d '
                           'attempts); nothing was written, try again'
                           % (registry.endpoints_text, ATTEMPTS))


def _check(parse, *args):
    try:
        return parse(*args)
    except RecordError as e:
        raise FleetError(str(e)) from None


def vni_text(vni):
    return '%d (%#x)' % (vni, vni)


# --- nodes --------------------------------------------------------------------------------

def add_node(registry, name, local_ip):
    rec = NodeRecord(_check(parse_node_name, name), _check(parse_ipv4, local_ip, 'local_ip'))
    key = node_key(registry.prefix, rec.name)

    def plan(snap):
        for other in snap.fleet.nodes.values():
            if other.local_ip == rec.local_ip and other.name != rec.name:
                raise FleetError('local_ip %s is already used by node %s'
                                 % (rec.local_ip, other.name))
        old = snap.record(key)
        if old == rec:
            return 'node %s unchanged (local_ip %s)' % (rec.name, rec.local_ip)
        verb = 'updated' if snap.exists(key) else 'added'
        was = ', was %s' % old.local_ip if isinstance(old, NodeRecord) else ''
        # unchanged_since: a node added meanwhile with the same local_ip fails the txn.
        return _write('node %s %s (local_ip %s%s)' % (rec.name, verb, rec.local_ip, was),
                      [(key, snap.mod(key))], {key: node_value(rec)},
                      unchanged_since=[(nodes_dir(registry.prefix), snap.revision)])
    return _apply(registry, plan)


def remove_node(registry, name):
    name = _check(parse_node_name, name)
    key = node_key(registry.prefix, name)
    ports = ports_dir(registry.prefix, name)

    def plan(snap):
        if not snap.exists(key):
            return 'node %s not there' % name
        port_ids = sorted(k[len(ports):] for k in snap.kvs if k.startswith(ports))
        also = ', and its ports %s' % ', '.join(port_ids) if port_ids else ''
        # Deleting the whole ports/<node>/ range also takes a port added meanwhile.
        return _write('node %s removed%s' % (name, also), [(key, snap.mod(key))],
                      deletes=[key], delete_prefixes=[ports])
    return _apply(registry, plan)


# --- VPCs ---------------------------------------------------------------------------------

def add_vpc(registry, vni, name=None, cidr=None):
    """Declares the VPC: an existing one takes exactly this name and cidr."""
    rec = VpcRecord(_check(parse_vni, vni),
                    None if name is None else _check(parse_vpc_name, name),
                    None if cidr is None else _check(parse_cidr, cidr))
    key = vpc_key(registry.prefix, rec.vni)

    def plan(snap):
        if rec.cidr is not None:
            net = ipaddress.IPv4Network(rec.cidr)
            outside = ['%s/%s (%s)' % (p.node, p.port_id, p.ip)
                       for p in snap.ports_under(ports_dir(registry.prefix))
                       if p.vni == rec.vni and p.ip and ipaddress.IPv4Address(p.ip) not in net]
            if outside:
                raise FleetError('cidr %s does not hold the addresses of ports of VPC %s: %s'
                                 % (rec.cidr, vni_text(rec.vni), ', '.join(outside)))
        old = snap.record(key)
        details = ', '.join('%s %s' % (f, v) for f, v in (('name', rec.name), ('cidr', rec.cidr))
                            if v is not None)
        details = ' (%s)' % details if details else ''
        if old == rec:
            return 'VPC %s unchanged%s' % (vni_text(rec.vni), details)
        verb = 'updated' if snap.exists(key) else 'added'
        return _write('VPC %s %s%s' % (vni_text(rec.vni), verb, details),
                      [(key, snap.mod(key))], {key: vpc_value(rec)},
                      unchanged_since=[(ports_dir(registry.prefix), snap.revision)])
    return _apply(registry, plan)


def remove_vpc(registry, vni, force=False):
    vni = _check(parse_vni, vni)
    key = vpc_key(registry.prefix, vni)
    all_ports = ports_dir(registry.prefix)

    def plan(snap):
        if not snap.exists(key):
            return 'VPC %s not there' % vni_text(vni)
        ports = [p for p in snap.ports_under(all_ports) if p.vni == vni]
        names = ', '.join('%s/%s' % (p.node, p.port_id) for p in ports)
        if ports and not force:
            raise FleetError('VPC %s still has %d port(s): %s; remove them first, or use '
                             '--force to remove them with it' % (vni_text(vni), len(ports), names))
        keys = [port_key(registry.prefix, p.node, p.port_id) for p in ports]
        also = ', and its ports %s' % names if ports else ''
        # unchanged_since: a port joining this VPC meanwhile fails the txn (and is re-checked).
        return _write('VPC %s removed%s' % (vni_text(vni), also), [(key, snap.mod(key))],
                      deletes=[key] + keys, unchanged_since=[(all_ports, snap.revision)])
    return _apply(registry, plan)


# --- ports --------------------------------------------------------------------------------

def add_port(registry, node, port_id, vni, mac, ip=None):
    rec = PortRecord(_check(parse_node_name, node), _check(parse_port_id, port_id),
                     _check(parse_vni, vni), _check(parse_mac, mac),
                     None if ip is None else _check(parse_ipv4, ip, 'ip'))
    key = port_key(registry.prefix, rec.node, rec.port_id)
    nkey, vkey = node_key(registry.prefix, rec.node), vpc_key(registry.prefix, rec.vni)
    where = '%s/%s' % (rec.node, rec.port_id)

    def plan(snap):
        if rec.node not in snap.fleet.nodes:
            raise FleetError('node %s is not in the registry (fleet node add %s --local-ip IP)'
                             % (rec.node, rec.node))
        vpc = snap.fleet.vpcs.get(rec.vni)
        if vpc is None:
            raise FleetError('VPC %s is not in the registry (fleet vpc add %s)'
                             % (vni_text(rec.vni), rec.vni))
        if rec.ip and vpc.cidr and ipaddress.IPv4Address(rec.ip) not in ipaddress.IPv4Network(
                vpc.cidr):
            raise FleetError('ip %s is outside VPC %s cidr %s' % (rec.ip, vni_text(rec.vni),
                                                                   vpc.cidr))
        for other in snap.ports_under(ports_dir(registry.prefix)):
            if other.vni == rec.vni and other.mac == rec.mac and (
                    other.node, other.port_id) != (rec.node, rec.port_id):
                raise FleetError('mac %s is already used in VPC %s by port %s/%s'
                                 % (rec.mac, vni_text(rec.vni), other.node, other.port_id))
        old = snap.record(key)
        details = 'VPC %s, mac %s%s' % (vni_text(rec.vni), rec.mac,
                                        ', ip %s' % rec.ip if rec.ip else '')
        if old == rec:
            return 'port %s unchanged (%s)' % (where, details)
        verb = 'updated' if snap.exists(key) else 'added'
        # The node and VPC must still be there as read; no port may have taken the MAC.
        return _write('port %s %s (%s)' % (where, verb, details),
                      [(key, snap.mod(key)), (nkey, snap.mod(nkey)), (vkey, snap.mod(vkey))],
                      {key: port_value(rec)},
                      unchanged_since=[(ports_dir(registry.prefix), snap.revision)])
    return _apply(registry, plan)


def remove_port(registry, node, port_id):
    node, port_id = _check(parse_node_name, node), _check(parse_port_id, port_id)
    key = port_key(registry.prefix, node, port_id)

    def plan(snap):
        if not snap.exists(key):
            return 'port %s/%s not there' % (node, port_id)
        return _write('port %s/%s removed' % (node, port_id), [(key, snap.mod(key))],
                      deletes=[key])
    return _apply(registry, plan)


# --- show ---------------------------------------------------------------------------------

def show(registry):
    """(Fleet, [(key, reason)]) as the registry holds it now."""
    kvs, revision = registry.read_all_meta()
    snap = _Snapshot(registry.prefix, kvs, revision)
    return snap.fleet, snap.problems


def _table(title, header, rows):
    if not rows:
        return '%s: none' % title
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ['%s:' % title] + ['  ' + '  '.join(str(c).ljust(w) for c, w in
                                                 zip(row, widths)).rstrip()
                               for row in [header] + rows]
    return '\n'.join(lines)


def format_table(fleet, problems=()):
    nodes = [(n.name, n.local_ip) for n in sorted(fleet.nodes.values(), key=lambda n: n.name)]
    vpcs = [(v.vni, '%#x' % v.vni, v.name or '-', v.cidr or '-')
            for v in sorted(fleet.vpcs.values(), key=lambda v: v.vni)]
    ports = [(p.node, p.port_id, p.vni, p.mac, p.ip or '-')
             for p in sorted(fleet.ports, key=lambda p: (p.node, p.port_id))]
    parts = [_table('nodes', ('NAME', 'LOCAL_IP'), nodes),
             _table('vpcs', ('VNI', 'HEX', 'NAME', 'CIDR'), vpcs),
             _table('ports', ('NODE', 'PORT_ID', 'VNI', 'MAC', 'IP'), ports)]
    if problems:
        parts.append(_table('skipped records', ('KEY', 'REASON'), list(problems)))
    return '\n\n'.join(parts)

