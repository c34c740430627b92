"""The ``[vxlan_vpc]`` options and their validation into an immutable ``Settings``.

The option names are a contract with operators' config files. Both entry points read
them: ``ryu-manager --config-file F ryu_vxlan_vpc.app`` (Ryu's global CONF) and
``ryu-vxlan-vpc bootstrap --config-file F`` (a private ConfigOpts). Everything is
validated up front, so a bad value stops the program before it touches a switch, with a
message naming the option and the value. The files themselves (encoding, syntax, unknown
options and sections) are checked first by ``config_files``, for both entry points.
"""
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Tuple

from oslo_config import cfg

from .model import (MAX_IFNAME, TUNNEL_PREFIX, VLAN_MAX, VNI_MAX, VmPort, Vpc,  # noqa: F401
                    remote_ip_of_port, tunnel_port_name)
from .registry.records import address_problem

GROUP = 'vxlan_vpc'
# 3 x 300 ms: a dead peer shows down in about a second (OVS's own default, min_rx 1000 ms,
# would take 3 s before our 1 s poll even looks).
BFD_INTERVAL_MS = 300
BFD_INTERVAL_RANGE = (10, 60000)   # below 10 ms userspace OVS spends its time on BFD

OPTS = [
    cfg.StrOpt('local_ip', help="This node's VTEP IPv4 address (the tunnels' local_ip)."),
    cfg.ListOpt('remote_ips', default=[],
                help='Remote VTEP IPv4 addresses; one VXLAN port each, named '
                     'vxlan-<remote IPv4 as 8 hex digits>, e.g. vxlan-ac150c08.'),
    cfg.ListOpt('vpcs', default=[],
                help='VNI:LOCAL_VLAN pairs, e.g. 0x22:12. VNI 1..16777215 (hex or '
                     'decimal), local VLAN 1..4094, each unique on this node.'),
    cfg.StrOpt('tun_bridge', default='br-tun', help='Tunnel bridge the app programs.'),
    cfg.StrOpt('int_bridge', default='br-int', help='Integration bridge (standalone).'),
    cfg.StrOpt('patch_int_port', default='patch-int',
               help='Patch port on the tunnel bridge; the app recognises br-tun by it.'),
    cfg.StrOpt('patch_tun_port', default='patch-tun',
               help='Patch port on the integration bridge.'),
    cfg.IntOpt('vxlan_udp_port', default=4789, help='VXLAN UDP destination port.'),
    cfg.IntOpt('learn_hard_timeout', default=300,
               help='hard_timeout of the unicast flows learned into table 20 (seconds).'),
    cfg.StrOpt('flow_cookie', default='0x79',
               help='Cookie of every flow the app installs (hex or decimal).'),
    cfg.StrOpt('learn_cookie', default='0xa9eb8f9011f7e038',
               help='Cookie of the flows that learn() writes into table 20.'),
    cfg.StrOpt('controller', default='tcp:127.0.0.1:6633',
               help='Bootstrap: OpenFlow controller target set on the tunnel bridge.'),
    cfg.StrOpt('datapath_type', default='system',
               help='Bootstrap: datapath_type of the bridges; netdev where the kernel '
                    'has no openvswitch module.'),
    cfg.StrOpt('etcd_endpoints',
               help='HOST:PORT[,HOST:PORT...] of the fleet registry (etcd v3). When set, '
                    'VPCs, nodes and VM ports come from the registry and vpcs, '
                    'remote_ips and vm_ports must be left out.'),
    cfg.StrOpt('registry_prefix', default='/ryu-vxlan-vpc',
               help='Key prefix of the fleet registry in etcd.'),
    cfg.StrOpt('node_name', default=socket.gethostname(), sample_default='<host name>',
               help="This node's name in the registry (its <prefix>/nodes/<name> key)."),
    cfg.StrOpt('ovsdb_connection', default='unix:/var/run/openvswitch/db.sock',
               help="The node's OVSDB, for the tunnel ports and VM port tags the app "
                    'manages (unix:/PATH or tcp:IP:PORT), as Neutron names it.'),
    cfg.FloatOpt('ovsdb_poll_interval', default=1.0,
                 help='Seconds between two looks at the OVSDB for new or changed VM ports '
                      '(registry mode); a registry change looks at once.'),
    cfg.BoolOpt('l2_population', default=None, sample_default='true with the registry',
                help='Neutron\'s l2population from the registry: each VPC floods only to '
                     'the nodes hosting one of its ports, and unicast to a known remote '
                     'port goes straight to its node (table 20, priority 2). Needs '
                     'etcd_endpoints; default: on with the registry.'),
    cfg.BoolOpt('arp_responder', default=None, sample_default='true with the registry',
                help='Answer ARP requests for remote ports\' IPs on this node (table 21) '
                     'instead of flooding them. Needs etcd_endpoints; default: on with '
                     'the registry.'),
    cfg.IntOpt('bfd_interval_ms', default=BFD_INTERVAL_MS,
               help='BFD on our VXLAN tunnels (bfd:enable=true): the interval in ms at which '
                    'each side sends and expects BFD control messages (bfd:min_rx and '
                    'bfd:min_tx). A tunnel whose peer stops answering shows down after '
                    '3 intervals and, with l2_population, leaves the flood lists until it '
                    'is back. 0 turns BFD off (tunnel health "no-bfd").'),
    cfg.FloatOpt('resync_interval', default=30.0,
                 help='Seconds between two audits of br-tun that restore our flows deleted '
                      'or changed behind our back (drift repair); 0 turns the audit off.'),
    cfg.ListOpt('vm_ports', default=[],
                help='Bootstrap: ID:VNI[:NAMESPACE:ADDRESS/PREFIX] per VM port, e.g. '
                     '123:0x22:test:192.168.10.11/24 makes qbr123, qvo123/qvb123 '
                     '(qvo123 tagged with the VNI\'s local VLAN) and, with a namespace, '
                     'a veth into it holding the address.'),
]

COOKIE_MAX = (1 << 64) - 2  # all ones is reserved by OpenFlow
DATAPATH_TYPES = ('system', 'netdev')
# No leading "-": the names become arguments of ovs-vsctl and ip, never options.
_IFNAME_RE = re.compile(r'^[A-Za-z0-9_.][A-Za-z0-9_.-]*$')
_NETNS_RE = re.compile(r'^(?!\.{1,2}$)[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$')
_VM_ID_RE = re.compile(r'^[A-Za-z0-9_-]{1,%d}$' % (MAX_IFNAME - 3))
_CONTROLLER_RE = re.compile(r'^(?:(tcp|ssl):([0-9.]+):([0-9]+)|(ptcp|pssl):([0-9]+)(?::([0-9.]+))?|'
                            r'unix:/\S+)$')


# Every character str.splitlines() breaks at: a message must stay one line whatever a
# config file (or oslo's text quoting it) holds.
_LINE_BREAKS = {c: repr(chr(c))[1:-1] for c in (0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e,
                                                0x85, 0x2028, 0x2029)}


def one_line(text):
    return str(text).translate(_LINE_BREAKS)


class ConfigError(ValueError):
    """A bad option value; the message names the option and the value."""

    def __init__(self, option, value, why, group=GROUP):
        self.option, self.value, self.group = option, value, group
        self.where = ''  # 'config file F: ' once known (locate)
        super().__init__(one_line('[%s] %s = %r: %s' % (group, option, value, why)))

    def __str__(self):
        return self.where + super().__str__()

    def locate(self, conf=None, path=None):
        """Name the file the bad value came from: ``path``, or where ``conf`` read it."""
        if path is None and conf is not None:
            try:
                location = conf.get_location(self.option, None if self.group == 'DEFAULT'
                                             else self.group)
            except cfg.Error:
                location = None
            if location is not None and location.location == cfg.Locations.user:
                path = location.detail
        if path is not None and not self.where:
            self.where = one_line('config file %r: ' % (path,))
        return self


class ConfigFileError(ConfigError):
    """A config file that cannot be read as one; the message names the file (and line)."""

    def __init__(self, path, why, line=None):  # not "[group] option = value: why"
        self.option, self.value, self.group, self.where = 'config-file', path, None, ''
        self.path, self.line = path, line
        where = 'config file %r' % (path,) + (' line %d' % line if line else '')
        ValueError.__init__(self, one_line('%s: %s' % (where, why)))


@dataclass(frozen=True)
class Settings:
    local_ip: str
    remote_ips: Tuple[str, ...]
    vpcs: Tuple[Vpc, ...]
    tun_bridge: str = 'br-tun'
    int_bridge: str = 'br-int'
    patch_int_port: str = 'patch-int'
    patch_tun_port: str = 'patch-tun'
    vxlan_udp_port: int = 4789
    learn_hard_timeout: int = 300
    flow_cookie: int = 0x79
    learn_cookie: int = 0xa9eb8f9011f7e038
    controller: str = 'tcp:127.0.0.1:6633'
    datapath_type: str = 'system'
    vm_ports: Tuple[VmPort, ...] = ()
    etcd_endpoints: Tuple[str, ...] = ()   # HOST:PORT each; empty: the file is the source
    registry_prefix: str = '/ryu-vxlan-vpc'
    node_name: str = 'localhost'
    ovsdb_connection: str = 'unix:/var/run/openvswitch/db.sock'
    ovsdb_poll_interval: float = 1.0
    resync_interval: float = 30.0          # seconds between drift audits; 0: none
    bfd_interval_ms: int = BFD_INTERVAL_MS  # BFD min_rx/min_tx of our tunnels; 0: no BFD
    l2_population: bool = False            # flood lists and unicast from the registry
    arp_responder: bool = False            # ARP answered from the registry (table 21)

    @property
    def registry(self):
        return bool(self.etcd_endpoints)

    def local_vlan_of(self, vni):
        for vpc in self.vpcs:
            if vpc.vni == vni:
                return vpc.local_vlan
        raise KeyError(vni)


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


# --- validation helpers: each raises ConfigError naming the option -----------------

def check_ifname(option, name):
    if not name or len(name) > MAX_IFNAME or not _IFNAME_RE.match(name) or name in ('.', '..'):
        raise ConfigError(option, name, 'not a valid interface name (1..%d characters of '
                                        'letters, digits, "_", "-", ".")' % MAX_IFNAME)
    return name


def _vtep(option, text):
    """A VTEP address: unicast IPv4 that another node can reach (records.address_problem)."""
    try:
        addr = ipaddress.IPv4Address(text.strip())
    except (ipaddress.AddressValueError, ValueError, AttributeError):
        raise ConfigError(option, text, 'not an IPv4 address') from None
    problem = address_problem(addr)
    if problem:
        raise ConfigError(option, text, '%s, not usable as a VTEP' % problem)
    return str(addr)


def _int(option, text, low, high, what, item=None):
    """Parse a decimal or 0x-hex number within low..high; errors quote ``item`` (the entry)."""
    shown = text if item is None else item
    try:
        value = int(str(text).strip(), 0)
    except ValueError:
        raise ConfigError(option, shown, '%s %r is not a number (use decimal or 0x hex)'
                          % (what, text)) from None
    if not low <= value <= high:
        raise ConfigError(option, shown, '%s %s is outside %d..%d' % (what, text, low, high))
    return value


def _vpcs(items):
    vpcs, vnis, vlans = [], {}, {}
    for item in items:
        parts = item.split(':')
        if len(parts) != 2:
            raise ConfigError('vpcs', item, 'expected VNI:LOCAL_VLAN, e.g. 0x22:12')
        vni = _int('vpcs', parts[0], 1, VNI_MAX, 'VNI', item)
        vlan = _int('vpcs', parts[1], 1, VLAN_MAX, 'local VLAN', item)
        if vni in vnis:
            raise ConfigError('vpcs', item, 'VNI %#x is listed twice (also in %r)'
                              % (vni, vnis[vni]))
        if vlan in vlans:
            raise ConfigError('vpcs', item, 'local VLAN %d is already used by %r'
                              % (vlan, vlans[vlan]))
        vnis[vni], vlans[vlan] = item, item
        vpcs.append(Vpc(vni, vlan))
    return tuple(vpcs)


def _vm_ports(items, vpcs):
    known = {v.vni for v in vpcs}
    ports, ids = [], set()
    for item in items:
        parts = item.split(':')
        if len(parts) not in (2, 4):
            raise ConfigError('vm_ports', item,
                              'expected ID:VNI or ID:VNI:NAMESPACE:ADDRESS/PREFIX')
        vm_id = parts[0]
        if not _VM_ID_RE.match(vm_id):
            raise ConfigError('vm_ports', item, 'ID must be 1..%d letters, digits, "_" or '
                                                '"-" (it names qbrID, qvoID, qvbID)'
                              % (MAX_IFNAME - 3))
        if vm_id in ids:
            raise ConfigError('vm_ports', item, 'ID %r is listed twice' % vm_id)
        vni = _int('vm_ports', parts[1], 1, VNI_MAX, 'VNI', item)
        if vni not in known:
            raise ConfigError('vm_ports', item, 'VNI %#x is not in vpcs' % vni)
        namespace = address = None
        if len(parts) == 4:
            namespace = parts[2]
            if not _NETNS_RE.match(namespace):
                raise ConfigError('vm_ports', item, 'namespace must be 1..64 letters, '
                                                    'digits, "_", "-" or ".", not starting '
                                                    'with "-", not "." or ".."')
            try:
                address = str(ipaddress.IPv4Interface(parts[3]))
            except ValueError:
                raise ConfigError('vm_ports', item,
                                  'address must be IPv4/PREFIX, e.g. 192.168.10.11/24') from None
            if '/' not in parts[3]:
                raise ConfigError('vm_ports', item, 'address needs a /PREFIX')
        ids.add(vm_id)
        ports.append(VmPort(vm_id, vni, namespace, address))
    return tuple(ports)


def _check_controller(target):
    """An OVS controller target: tcp|ssl:IPv4:PORT, ptcp|pssl:PORT[:IPv4] or unix:PATH."""
    m = _CONTROLLER_RE.match(target or '')
    why = 'expected an OVS controller target such as tcp:127.0.0.1:6633'
    if not m:
        raise ConfigError('controller', target, why)
    port, ip = (m.group(3), m.group(2)) if m.group(1) else (m.group(5), m.group(6))
    if port is not None and not 1 <= int(port) <= 65535:
        raise ConfigError('controller', target, 'port %s is outside 1..65535' % port)
    if ip is not None:
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise ConfigError('controller', target, '%s is not an IPv4 address' % ip) from None


def settings_from(conf):
    """Validate ``conf.vxlan_vpc`` into Settings; raises ConfigError on the first bad value."""
    try:
        return _settings_from(conf)
    except cfg.ConfigFileValueError as exc:
        raise _typed_value_error(conf, exc) from None


def _typed_value_error(conf, exc):
    """oslo's 'Value for option X from LocationInfo(...) is not valid: ...' made readable."""
    m = re.search(r'option (\w+)\b.*?is not valid: (.*)', str(exc), re.S)
    if not m:
        return ConfigError('config-file', ','.join(conf.config_file or ()), str(exc))
    option, why = m.group(1), m.group(2).strip()
    return ConfigError(option, _raw_value(conf.config_file or (), option), why)


def _raw_value(paths, option):
    """The text of ``option`` in [vxlan_vpc] as written in the last file that sets it."""
    import configparser
    value = None
    for path in paths:
        parser = configparser.RawConfigParser(strict=False)
        try:
            parser.read(path)
            value = parser.get(GROUP, option, fallback=value)
        except configparser.Error:
            continue
    return value


def _settings_from(conf):
    group = conf[GROUP]
    if not group.local_ip:
        raise ConfigError('local_ip', group.local_ip, 'required: this node\'s VTEP IPv4 address')
    local_ip = _vtep('local_ip', group.local_ip)
    remote_ips = []
    for text in group.remote_ips:
        ip = _vtep('remote_ips', text)
        if ip == local_ip:
            raise ConfigError('remote_ips', text, 'is this node\'s own local_ip')
        if ip in remote_ips:
            raise ConfigError('remote_ips', text, 'listed twice')
        remote_ips.append(ip)
    vpcs = _vpcs(group.vpcs)
    names = {}
    for option in ('tun_bridge', 'int_bridge', 'patch_int_port', 'patch_tun_port'):
        name = check_ifname(option, group[option])
        if name in names:
            raise ConfigError(option, name, 'same name as %s' % names[name])
        if name.startswith(TUNNEL_PREFIX):
            raise ConfigError(option, name, 'the prefix "%s" is reserved for tunnel ports'
                              % TUNNEL_PREFIX)
        names[name] = option
    flow_cookie = _int('flow_cookie', group.flow_cookie, 1, COOKIE_MAX, 'cookie')
    learn_cookie = _int('learn_cookie', group.learn_cookie, 1, COOKIE_MAX, 'cookie')
    if flow_cookie == learn_cookie:
        raise ConfigError('learn_cookie', group.learn_cookie,
                          'must differ from flow_cookie, or learned flows look installed')
    if group.datapath_type not in DATAPATH_TYPES:
        raise ConfigError('datapath_type', group.datapath_type,
                          'must be one of %s' % ', '.join(DATAPATH_TYPES))
    _check_controller(group.controller)
    return Settings(
        local_ip=local_ip,
        remote_ips=tuple(remote_ips),
        vpcs=vpcs,
        tun_bridge=group.tun_bridge,
        int_bridge=group.int_bridge,
        patch_int_port=group.patch_int_port,
        patch_tun_port=group.patch_tun_port,
        vxlan_udp_port=_int('vxlan_udp_port', group.vxlan_udp_port, 1, 65535, 'UDP port'),
        learn_hard_timeout=_int('learn_hard_timeout', group.learn_hard_timeout, 1, 65535,
                                'hard_timeout'),
        flow_cookie=flow_cookie,
        learn_cookie=learn_cookie,
        controller=group.controller,
        datapath_type=group.datapath_type,
        vm_ports=_vm_ports(group.vm_ports, vpcs),
        resync_interval=_resync_interval(group.resync_interval),
        bfd_interval_ms=_bfd_interval(group.bfd_interval_ms),
        **_registry_options(group),
    )


def _resync_interval(value):
    if value != 0 and not 1 <= value <= 86400:
        raise ConfigError('resync_interval', value, 'must be 0 (no audit) or 1..86400 seconds')
    return value


def _bfd_interval(value):
    low, high = BFD_INTERVAL_RANGE
    if value != 0 and not low <= value <= high:
        raise ConfigError('bfd_interval_ms', str(value), 'must be 0 (no BFD) or %d..%d ms'
                          % (low, high))
    return value


_ENDPOINT_RE = re.compile(r'^(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252}):(?P<port>[0-9]{1,5})$')
_NODE_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
_PREFIX_RE = re.compile(r'^(/[A-Za-z0-9_.-]+)+$')
_OVSDB_RE = re.compile(r'^(unix:/\S+|(tcp|ssl):[0-9.]+:[0-9]{1,5})$')


def _registry_options(group):
    endpoints, text = [], (group.etcd_endpoints or '').strip()
    for item in text.split(',') if text else []:
        item = item.strip()
        m = _ENDPOINT_RE.match(item)
        if not m or not 1 <= int(m.group('port')) <= 65535:
            raise ConfigError('etcd_endpoints', group.etcd_endpoints,
                              '%r is not HOST:PORT (port 1..65535)' % item)
        endpoints.append(item)
    if endpoints:
        given = [o for o in ('vpcs', 'remote_ips', 'vm_ports') if group[o]]
        if given:
            raise ConfigError(given[0], ','.join(group[given[0]]),
                              'with etcd_endpoints set, VPCs, nodes and VM ports come from '
                              'the registry: leave out %s' % ' and '.join(given))
    if not _PREFIX_RE.match(group.registry_prefix or ''):
        raise ConfigError('registry_prefix', group.registry_prefix,
                          'expected a key path such as /ryu-vxlan-vpc')
    if not _NODE_RE.match(group.node_name or ''):
        raise ConfigError('node_name', group.node_name,
                          'expected 1..63 letters, digits, "_", "." or "-"')
    if not _OVSDB_RE.match(group.ovsdb_connection or ''):
        raise ConfigError('ovsdb_connection', group.ovsdb_connection,
                          'expected unix:/PATH or tcp:IP:PORT')
    if not 0.1 <= group.ovsdb_poll_interval <= 60:
        raise ConfigError('ovsdb_poll_interval', group.ovsdb_poll_interval,
                          'outside 0.1..60 seconds')
    l2 = {}
    for option in ('l2_population', 'arp_responder'):
        value = group[option]
        if value and not endpoints:
            raise ConfigError(option, value, 'needs etcd_endpoints: only the registry knows '
                                             'the other nodes\' ports')
        l2[option] = bool(endpoints) if value is None else value
    return dict(l2, etcd_endpoints=tuple(endpoints), registry_prefix=group.registry_prefix,
                node_name=group.node_name, ovsdb_connection=group.ovsdb_connection,
                ovsdb_poll_interval=group.ovsdb_poll_interval)


def load_file(path):
    """Read and validate one config file outside ryu-manager (bootstrap, lab, tests)."""
    from . import config_files  # it needs ConfigFileError from here
    config_files.check_files([path])
    conf = cfg.ConfigOpts()
    register_opts(conf)
    try:
        conf(args=['--config-file', path], project='ryu_vxlan_vpc', default_config_files=[])
    except cfg.ConfigFilesNotFoundError:
        raise ConfigFileError(path, 'file not found or unreadable') from None
    except cfg.Error as exc:
        raise ConfigFileError(path, exc) from None
    try:
        return settings_from(conf)
    except ConfigError as exc:
        raise exc.locate(path=path)
    except (cfg.Error, ValueError) as exc:
        raise ConfigFileError(path, exc) from None


def check_rest_listener(conf):
    """Ryu's REST listener options, which ryu-manager would otherwise bind with a traceback
    (999.1.1.1 is looked up as a host name; port 70000 overflows). A literal address only:
    resolving a name here could wait on DNS, and a controller listens on an address."""
    host, port = conf.wsapi_host, conf.wsapi_port
    if host not in ('', 'localhost'):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError('wsapi_host', host, 'not an IP address to listen on '
                                                  '(e.g. 127.0.0.1, 0.0.0.0 or ::)',
                              'DEFAULT') from None
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError('wsapi_port', port, 'outside 1..65535', 'DEFAULT')


def changed_options(old, new, besides=()):
    """Names of the Settings fields that differ between ``old`` and ``new``."""
    return [f for f in old.__dataclass_fields__ if f not in besides
            and getattr(old, f) != getattr(new, f)]


def replace_intent(old, new):
    """``old`` with the intent-bearing options (vpcs, remote_ips) of ``new``."""
    import dataclasses
    return dataclasses.replace(old, vpcs=new.vpcs, remote_ips=new.remote_ips)
