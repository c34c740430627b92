"""The fleet as etcd stores it: key layout, validators, and parsing. Pure: no I/O.

Under a prefix (default ``/ryu-vxlan-vpc``)::

    <prefix>/nodes/<name>             {"local_ip": "172.21.12.8"}
    <prefix>/vpcs/<vni, decimal>      {} with optional "name" and "cidr"
    <prefix>/ports/<node>/<port_id>   {"vni": 34, "mac": "fa:16:3e:00:00:01", "ip": "192.168.10.11"}

Anyone can write to etcd, so ``parse_fleet`` never trusts content: a bad record is skipped
and reported, the rest still applies.
"""
import ipaddress
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from ryu_vxlan_vpc.model import VNI_MAX

DEFAULT_PREFIX = '/ryu-vxlan-vpc'
DEFAULT_ENDPOINT = '127.0.0.1:2379'   # etcd's own default client URL
NODE_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
PORT_ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$')
MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
VPC_NAME_MAX = 64


class RecordError(ValueError):
    """A value that cannot go into (or come out of) the registry; names field and value."""


@dataclass(frozen=True, slots=True)
class NodeRecord:
    name: str
    local_ip: str


@dataclass(frozen=True, slots=True)
class VpcRecord:
    vni: int
    name: Optional[str] = None
    cidr: Optional[str] = None


@dataclass(frozen=True, slots=True)
class PortRecord:
    node: str
    port_id: str
    vni: int
    mac: str
    ip: Optional[str] = None


@dataclass(frozen=True)
class Fleet:
    nodes: Dict[str, NodeRecord] = field(default_factory=dict)
    vpcs: Dict[int, VpcRecord] = field(default_factory=dict)
    # In the order of their etcd keys. A tuple, not a dict: 50k ports are held in every
    # fleet published, and nothing looks one up.
    ports: Tuple[PortRecord, ...] = ()


# --- keys -------------------------------------------------------------------------------

def normalize_prefix(prefix):
    """'/ryu-vxlan-vpc/' -> '/ryu-vxlan-vpc'. Keys are always prefix + '/' + ..."""
    if not isinstance(prefix, str) or not prefix.startswith('/') or any(
            c.isspace() for c in prefix):
        raise RecordError('prefix %r: must start with / and hold no spaces' % (prefix,))
    return prefix.rstrip('/')


def node_key(prefix, name):
    return '%s/nodes/%s' % (normalize_prefix(prefix), name)


def vpc_key(prefix, vni):
    return '%s/vpcs/%d' % (normalize_prefix(prefix), vni)


def port_key(prefix, node, port_id):
    return '%s/ports/%s/%s' % (normalize_prefix(prefix), node, port_id)


def nodes_dir(prefix):
    return normalize_prefix(prefix) + '/nodes/'


def vpcs_dir(prefix):
    return normalize_prefix(prefix) + '/vpcs/'


def ports_dir(prefix, node=None):
    base = normalize_prefix(prefix) + '/ports/'
    return base if node is None else base + node + '/'


# --- validators (each raises RecordError naming the field and the value) ------------------

def parse_vni(text):
    """A VNI as the config file takes it: decimal or 0x hex (int(text, 0)), 1..16777215.
    An int is accepted as is (JSON records carry ints)."""
    if isinstance(text, bool):
        raise RecordError('vni %r is not a number' % (text,))
    if isinstance(text, int):
        value = text
    else:
        try:
            value = int(str(text).strip(), 0)
        except ValueError:
            raise RecordError('vni %r is not a number (use decimal or 0x hex)' % (text,)) from None
    if not 1 <= value <= VNI_MAX:
        raise RecordError('vni %s is outside 1..%d' % (text, VNI_MAX))
    return value


def parse_mac(text, what='mac'):
    """A VM's unicast MAC, normalised to lower case."""
    mac = text.strip().lower() if isinstance(text, str) else None
    if mac is None or not MAC_RE.match(mac):
        raise RecordError('%s %r is not a MAC address (like fa:16:3e:00:00:01)' % (what, text))
    if int(mac[:2], 16) & 1:
        raise RecordError('%s %r is a multicast MAC, not a port address' % (what, text))
    if mac == '00:00:00:00:00:00':
        raise RecordError('%s %r is the all-zero MAC' % (what, text))
    return mac


_THIS_NETWORK = ipaddress.IPv4Network('0.0.0.0/8')
_LOOPBACK = ipaddress.IPv4Network('127.0.0.0/8')
_MULTICAST = ipaddress.IPv4Network('224.0.0.0/4')
_BROADCAST = ipaddress.IPv4Address('255.255.255.255')


def address_problem(addr):
    """Why an IPv4Address cannot be a node's VTEP or a VM port's address, or None.

    A tunnel packet carries the VTEP addresses as its source and destination, so each must
    be a unicast address another node can reach: 0.0.0.0/8 means "this host" and is never
    sent; 127.0.0.0/8 never leaves the host (and a packet from it is dropped elsewhere as a
    martian); multicast and the limited broadcast are not one host. Link-local and private
    addresses are fine: an underlay may use them.
    """
    if addr in _THIS_NETWORK:
        return 'in 0.0.0.0/8 ("this host", never a packet\'s address)'
    if addr in _LOOPBACK:
        return 'a loopback address (127.0.0.0/8), unreachable from any other node'
    if addr in _MULTICAST:
        return 'a multicast address (224.0.0.0/4)'
    if addr == _BROADCAST:
        return 'the broadcast address'
    return None


def parse_ipv4(text, what='ip'):
    """A unicast IPv4 host address (see address_problem for what is refused)."""
    try:
        addr = ipaddress.IPv4Address(text.strip() if isinstance(text, str) else text)
    except (ipaddress.AddressValueError, ValueError, AttributeError, TypeError):
        raise RecordError('%s %r is not an IPv4 address' % (what, text)) from None
    if isinstance(text, int):  # IPv4Address(int) works, but a record holds dotted text
        raise RecordError('%s %r is not an IPv4 address' % (what, text))
    problem = address_problem(addr)
    if problem:
        raise RecordError('%s %s is %s: not a usable unicast address' % (what, text, problem))
    return str(addr)


def parse_node_name(text, what='node'):
    if not isinstance(text, str) or not NODE_NAME_RE.match(text):
        raise RecordError('%s %r is not a valid node name ([A-Za-z0-9][A-Za-z0-9_.-], '
                          'at most 63 characters)' % (what, text))
    return text


def parse_port_id(text, what='port_id'):
    if not isinstance(text, str) or not PORT_ID_RE.match(text):
        raise RecordError('%s %r is not a valid port id ([A-Za-z0-9][A-Za-z0-9_-], '
                          'at most 64 characters)' % (what, text))
    return text


def parse_cidr(text, what='cidr'):
    """An IPv4 network, host bits zero: 192.168.10.0/24."""
    try:
        net = ipaddress.IPv4Network(text.strip() if isinstance(text, str) else None)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError, TypeError):
        raise RecordError('%s %r is not an IPv4 network (like 192.168.10.0/24, '
                          'host bits zero)' % (what, text)) from None
    if '/' not in text:
        raise RecordError('%s %r has no prefix length (like 192.168.10.0/24)' % (what, text))
    return str(net)


def parse_vpc_name(text, what='name'):
    if not isinstance(text, str) or not text.strip() or len(text) > VPC_NAME_MAX or any(
            not c.isprintable() for c in text):
        raise RecordError('%s %r: expected 1..%d printable characters' % (what, text, VPC_NAME_MAX))
    return text


# --- record values ------------------------------------------------------------------------

def dump(obj):
    """The one JSON spelling we write, so equal records have equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(',', ':'))


def node_value(rec):
    return dump({'local_ip': rec.local_ip})


def vpc_value(rec):
    obj = {}
    if rec.name is not None:
        obj['name'] = rec.name
    if rec.cidr is not None:
        obj['cidr'] = rec.cidr
    return dump(obj)


def port_value(rec):
    obj = {'vni': rec.vni, 'mac': rec.mac}
    if rec.ip is not None:
        obj['ip'] = rec.ip
    return dump(obj)


def _load_object(value):
    if isinstance(value, bytes):
        try:
            value = value.decode('utf-8')
        except UnicodeDecodeError:
            raise RecordError('value is not UTF-8') from None
    try:
        obj = json.loads(value)
    except ValueError as e:
        raise RecordError('value is not JSON (%s)' % e) from None
    if not isinstance(obj, dict):
        raise RecordError('value is not a JSON object: %s' % (value[:80],))
    return obj


def _optional(obj, name, parse):
    value = obj.get(name)
    return None if value is None else parse(value, name)


def _parse_key(prefix, key):
    """('nodes', name) / ('vpcs', vni) / ('ports', node, port_id), or RecordError."""
    base = normalize_prefix(prefix) + '/'
    if not key.startswith(base):
        raise RecordError('key is not under %s' % base)
    parts = key[len(base):].split('/')
    kind = parts[0]
    if kind == 'nodes' and len(parts) == 2:
        return kind, parse_node_name(parts[1], 'node name in key')
    if kind == 'vpcs' and len(parts) == 2:
        # One VPC, one key: '034' or '0x22' would be a second spelling of VNI 34.
        if not re.fullmatch(r'[1-9][0-9]*', parts[1]):
            raise RecordError('VPC key must end in the VNI in plain decimal, not %r' % parts[1])
        return kind, parse_vni(int(parts[1]))
    if kind == 'ports' and len(parts) == 3:
        # Interned: a node's thousand ports share one string of its name.
        return (kind, sys.intern(parse_node_name(parts[1], 'node name in key')),
                parse_port_id(parts[2], 'port_id in key'))
    raise RecordError('key does not match %s{nodes/NAME,vpcs/VNI,ports/NODE/PORT_ID}' % base)


def parse_record(prefix, key, value):
    """One key + value -> NodeRecord / VpcRecord / PortRecord, or RecordError."""
    where = _parse_key(prefix, key)
    obj = _load_object(value)
    if where[0] == 'nodes':
        if 'local_ip' not in obj:
            raise RecordError('local_ip is missing')
        return NodeRecord(where[1], parse_ipv4(obj['local_ip'], 'local_ip'))
    if where[0] == 'vpcs':
        return VpcRecord(where[1], _optional(obj, 'name', parse_vpc_name),
                         _optional(obj, 'cidr', parse_cidr))
    for name in ('vni', 'mac'):
        if name not in obj:
            raise RecordError('%s is missing' % name)
    if not isinstance(obj['vni'], int) or isinstance(obj['vni'], bool):
        raise RecordError('vni %r is not a JSON integer' % (obj['vni'],))
    return PortRecord(where[1], where[2], _shared(parse_vni(obj['vni'])), parse_mac(obj['mac']),
                      _optional(obj, 'ip', parse_ipv4))


_SHARED = {}


def _shared(vni):
    """One int object per VNI for all its ports (50k ports, a few VPCs), not one each."""
    if len(_SHARED) >= 1 << 16:
        _SHARED.clear()
    return _SHARED.setdefault(vni, vni)


def parse_or_error(prefix, key, value):
    """``parse_record``, or the RecordError saying why not (returned, not raised)."""
    try:
        return parse_record(prefix, key, value)
    except RecordError as e:
        # A fresh error: the one caught holds its traceback, whose frames would keep the
        # caller's data alive as long as the error is kept.
        return RecordError(str(e))
    except MemoryError:      # the process's trouble, not the record's: the publish fails
        raise                # and its changes wait for the next one (registry.follow)
    except Exception as e:   # anything else a hostile value provokes (JSON nested 100k
        # deep: RecursionError) is that record's problem, not the whole registry's
        return RecordError('value cannot be read (%s)' % type(e).__name__)


def parse_fleet(prefix, kvs):
    """{key: value bytes|str} -> (Fleet, [(key, reason)]). Never raises on content."""
    return assemble_fleet((key, parse_or_error(prefix, key, kvs[key])) for key in sorted(kvs))


def assemble_fleet(records):
    """(key, record or RecordError) pairs, in key order -> (Fleet, [(key, reason)]): the
    records that hold together (a port needs its node and its VPC; two nodes cannot share a
    VTEP address) and why each other one is left out."""
    nodes, vpcs, ports, problems = {}, {}, [], []
    for key, rec in records:
        if isinstance(rec, RecordError):
            problems.append((key, str(rec)))
        elif isinstance(rec, NodeRecord):
            nodes[rec.name] = (key, rec)
        elif isinstance(rec, VpcRecord):
            vpcs[rec.vni] = rec
        else:
            ports.append((key, rec))
    # Two nodes on one VTEP address cannot both be reached: the smaller name wins (keys are
    # sorted, so the first seen is the smaller one).
    by_ip, kept = {}, {}
    for name in sorted(nodes):
        key, rec = nodes[name]
        if rec.local_ip in by_ip:
            problems.append((key, 'local_ip %s is already used by node %s'
                             % (rec.local_ip, by_ip[rec.local_ip])))
            continue
        by_ip[rec.local_ip] = name
        kept[name] = rec
    kept_ports = []
    for key, rec in ports:
        if rec.node not in kept:
            problems.append((key, 'node %s is not in the registry' % rec.node))
        elif rec.vni not in vpcs:
            problems.append((key, 'VPC %d (%#x) is not in the registry' % (rec.vni, rec.vni)))
        else:
            kept_ports.append(rec)
    problems.sort()
    return Fleet(kept, vpcs, tuple(kept_ports)), problems


def fleet_to_json(fleet):
    """A JSON-ready dict (lists sorted) for ``fleet show --json``."""
    return {
        'nodes': [{'name': n.name, 'local_ip': n.local_ip}
                  for n in sorted(fleet.nodes.values(), key=lambda n: n.name)],
        'vpcs': [{'vni': v.vni, 'name': v.name, 'cidr': v.cidr}
                 for v in sorted(fleet.vpcs.values(), key=lambda v: v.vni)],
        'ports': [{'node': p.node, 'port_id': p.port_id, 'vni': p.vni, 'mac': p.mac,
                   'ip': p.ip}
                  for p in sorted(fleet.ports, key=lambda p: (p.node, p.port_id))],
    }
