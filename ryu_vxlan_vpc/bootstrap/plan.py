"""Pure planning: Settings + Target -> the ordered steps that build (or remove) a node.

A Step is a description, one command (an argument list, never a shell string) and a
check: a pure function of the node's observed state returning None when the command must
run, or the reason it need not. Each command brings its object all the way to the wanted
state (``--may-exist``, whole-port replacement), so on a fresh node every step runs once
and on a finished node none does. Every name is validated here, before anything runs.
"""
import os
import re
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from ..config import ConfigError, check_ifname
from ..model import TUNNEL_MARK, tunnel_port_name

VM_IFNAME = 'eth0'            # the VM's end of the veth, inside its namespace
BR_TUN_PROTOCOLS = ('OpenFlow10', 'OpenFlow13')  # 1.3 for Ryu, 1.0 for plain ovs-ofctl
CONNECTION_MODE = 'out-of-band'
_NETNS_RE = re.compile(r'^[A-Za-z0-9_.-]{1,64}$')
_DB_RE = re.compile(r'^(unix:/\S+|(tcp|ssl):[0-9.]+:[0-9]{1,5})$')


class PlanError(ValueError):
    """A bad command-line target (the config's own errors are ConfigError)."""

    def __init__(self, flag, value, why):
        super().__init__('%s %r: %s' % (flag, value, why))


@dataclass(frozen=True)
class Target:
    """Which OVS (database remote) and which network namespace a plan acts on."""
    db: Optional[str] = None      # e.g. unix:/run/x/db.sock; None: ovs-vsctl's default
    netns: Optional[str] = None   # the node's namespace; None: this one

    @classmethod
    def make(cls, db=None, ovs_rundir=None, netns=None):
        if db and ovs_rundir:
            raise PlanError('--db', db, 'give either --db or --ovs-rundir, not both')
        if ovs_rundir:
            if not os.path.isabs(ovs_rundir):
                raise PlanError('--ovs-rundir', ovs_rundir, 'must be an absolute path')
            db = 'unix:%s/db.sock' % ovs_rundir.rstrip('/')
        if db and not _DB_RE.match(db):
            raise PlanError('--db', db, 'expected unix:/PATH or tcp:IP:PORT')
        if netns is not None and (not _NETNS_RE.match(netns) or netns in ('.', '..')):
            raise PlanError('--netns', netns, 'not a valid network namespace name')
        return cls(db=db, netns=netns)

    def vsctl(self, *args):
        return ('ovs-vsctl',) + (('--db=' + self.db,) if self.db else ()) + args

    def ip(self, *args, netns=None):
        """``ip`` in the node's namespace, or in ``netns`` when given."""
        ns = netns or self.netns
        return ('ip',) + (('-n', ns) if ns else ()) + args


@dataclass(frozen=True)
class Step:
    what: str
    argv: Tuple[str, ...]
    check: Callable  # Observed -> Optional[str]: None = run argv, else why not


@dataclass(frozen=True)
class Expect:
    """An OVS interface the plan makes; ovs-vswitchd must then give it an OpenFlow port."""
    role: str     # 'bridge' (its internal interface), 'patch port', 'VXLAN port', 'VM port'
    name: str
    bridge: str


@dataclass(frozen=True)
class Plan:
    steps: Tuple[Step, ...]
    namespaces: Tuple[str, ...]   # VM namespaces whose links the checks look at
    interfaces: Tuple[Expect, ...] = ()  # what bootstrap reads back once the steps ran


# --- checks: pure functions of an Observed -------------------------------------------

ANY = object()


@dataclass(frozen=True)
class BridgeIs:
    name: str
    fail_mode: str
    datapath_type: str
    protocols: object = ANY       # tuple, or ANY
    controllers: object = ANY     # tuple of (target, connection_mode), or ANY

    def __call__(self, obs):
        b = obs.bridges.get(self.name)
        if b is None or b.fail_mode != self.fail_mode or b.datapath_type != self.datapath_type:
            return None
        if self.protocols is not ANY and b.protocols != tuple(sorted(self.protocols)):
            return None
        if self.controllers is not ANY and b.controllers != tuple(sorted(self.controllers)):
            return None
        return 'already as wanted'


@dataclass(frozen=True)
class PortIs:
    name: str
    bridge: str
    type: str = ''
    options: Tuple[Tuple[str, str], ...] = ()
    tag: object = ANY             # int, None (no tag), or ANY
    external_ids: Tuple[Tuple[str, str], ...] = ()  # must be among the port's

    def __call__(self, obs):
        p = obs.ports.get(self.name)
        if p is None or p.bridge != self.bridge or p.type != self.type:
            return None
        if not set(self.external_ids) <= set(p.external_ids):
            return None
        if p.options != tuple(sorted(self.options)):
            return None
        if self.tag is not ANY and p.tag != self.tag:
            return None
        return 'already as wanted'


@dataclass(frozen=True)
class BfdIs:
    """The interface's BFD configuration holds ``bfd`` (or, with ``bfd`` empty, BFD is not
    enabled)."""
    name: str
    bridge: str
    bfd: Tuple[Tuple[str, str], ...] = ()

    def __call__(self, obs):
        p = obs.ports.get(self.name)
        if p is None or p.bridge != self.bridge:
            return None
        have = dict(p.bfd)
        if self.bfd:
            return 'already as wanted' if set(self.bfd) <= set(have.items()) else None
        return 'already as wanted' if have.get('enable') != 'true' else None


@dataclass(frozen=True)
class LinkIs:
    netns: Optional[str]
    name: str
    kind: Optional[str] = None
    up: Optional[bool] = None
    master: object = ANY
    address: Optional[str] = None

    def __call__(self, obs):
        link = obs.link(self.netns, self.name)
        if link is None or (self.kind is not None and link.kind != self.kind):
            return None
        if self.up is not None and link.up != self.up:
            return None
        if self.master is not ANY and link.master != self.master:
            return None
        if self.address is not None and self.address not in link.addresses:
            return None
        return 'already as wanted'


@dataclass(frozen=True)
class AllOf:
    checks: Tuple[Callable, ...]

    def __call__(self, obs):
        return 'already as wanted' if all(c(obs) for c in self.checks) else None


@dataclass(frozen=True)
class NetnsExists:
    name: str

    def __call__(self, obs):
        return 'already exists' if self.name in obs.namespaces else None


@dataclass(frozen=True)
class PortGone:
    name: str
    bridge: str

    def __call__(self, obs):
        port = obs.ports.get(self.name)
        if port is None:
            return 'not there'
        if port.bridge != self.bridge:  # a namesake bootstrap did not make
            return 'kept: it is on %s, not %s' % (port.bridge, self.bridge)
        return None


@dataclass(frozen=True)
class LinkGone:
    netns: Optional[str]
    name: str

    def __call__(self, obs):
        return 'not there' if obs.link(self.netns, self.name) is None else None


@dataclass(frozen=True)
class VmVethGone:
    """The qvo/qvb veth goes, unless qvo is a port of another bridge (then it is kept)."""
    netns: Optional[str]
    name: str
    bridge: str

    def __call__(self, obs):
        kept = PortGone(self.name, self.bridge)(obs)
        if kept and kept.startswith('kept'):
            return kept
        return LinkGone(self.netns, self.name)(obs)


@dataclass(frozen=True)
class BridgeGone:
    """Delete an OVS bridge only when nothing but its own port is left on it."""
    name: str

    def __call__(self, obs):
        b = obs.bridges.get(self.name)
        if b is None:
            return 'not there'
        others = sorted(b.ports - {self.name})
        if others:
            return 'kept: it holds ports bootstrap did not make: ' + ', '.join(others)
        return None


@dataclass(frozen=True)
class LinuxBridgeGone:
    netns: Optional[str]
    name: str

    def __call__(self, obs):
        if obs.link(self.netns, self.name) is None:
            return 'not there'
        members = sorted(n for n, link in obs.links.get(self.netns, {}).items()
                         if link.master == self.name)
        if members:
            return 'kept: it holds interfaces bootstrap did not make: ' + ', '.join(members)
        return None


@dataclass(frozen=True)
class NetnsGone:
    name: str

    def __call__(self, obs):
        if self.name not in obs.namespaces:
            return 'not there'
        others = sorted(n for n in obs.links.get(self.name, {}) if n != 'lo')
        if others:
            return 'kept: it holds interfaces bootstrap did not make: ' + ', '.join(others)
        return None


# --- planning -------------------------------------------------------------------------

def _validate(settings, target):
    """Every interface name the plan uses, and namespaces that cannot work."""
    for option, name in (('tun_bridge', settings.tun_bridge),
                         ('int_bridge', settings.int_bridge),
                         ('patch_int_port', settings.patch_int_port),
                         ('patch_tun_port', settings.patch_tun_port)):
        check_ifname(option, name)
    for ip in settings.remote_ips:
        check_ifname('remote_ips', tunnel_port_name(ip))
    used = {}
    for vm in settings.vm_ports:
        for name in (vm.bridge, vm.ovs_port, vm.bridge_port, vm.tap):
            check_ifname('vm_ports', name)
        if vm.namespace is None:
            continue
        if vm.namespace == target.netns:
            raise ConfigError('vm_ports', vm.namespace,
                              'a VM namespace cannot be the node\'s own namespace')
        if vm.namespace in used:
            raise ConfigError('vm_ports', vm.namespace, 'namespace used by VM ports %s and %s;'
                              ' each VM namespace holds one %s' % (used[vm.namespace], vm.id,
                                                                   VM_IFNAME))
        used[vm.namespace] = vm.id


def _tunnel_options(settings, remote_ip, standalone_vni):
    opts = [('remote_ip', remote_ip), ('local_ip', settings.local_ip),
            ('dst_port', str(settings.vxlan_udp_port)), ('df_default', 'true')]
    if standalone_vni is None:
        opts += [('in_key', 'flow'), ('out_key', 'flow')]
    else:
        opts += [('key', '%#x' % standalone_vni)]
    return opts


def tunnel_bfd(settings):
    """The Interface ``bfd`` map of our tunnels: BFD on, both directions at the configured
    interval (OVS then signals a fault after 3 missed messages); () when it is off."""
    if not settings.bfd_interval_ms:
        return ()
    interval = str(settings.bfd_interval_ms)
    return (('enable', 'true'), ('min_rx', interval), ('min_tx', interval))


def tunnel_step(settings, target, remote_ip, standalone_vni=None, tun_vlan=None):
    """The VXLAN port to ``remote_ip``, marked as ours (``external_ids:ryu-vxlan-vpc-remote``)
    so that it is the only kind of tunnel we ever remove. Shared by bootstrap and the app;
    ``tunnel_bfd_step`` follows it."""
    name = tunnel_port_name(remote_ip)
    opts = _tunnel_options(settings, remote_ip, standalone_vni)
    tag = ('--', 'set', 'port', name, 'tag=%d' % tun_vlan) if tun_vlan else ()
    return Step(
        'VXLAN port %s to %s%s' % (name, remote_ip, ' (key %#x, vlan %d)'
                                   % (standalone_vni, tun_vlan) if tun_vlan else ''),
        # Replaced whole when it differs: no stale option (key / in_key) survives.
        target.vsctl('--', '--if-exists', 'del-port', settings.tun_bridge, name,
                     '--', 'add-port', settings.tun_bridge, name,
                     '--', 'set', 'interface', name, 'type=vxlan',
                     *('options:%s=%s' % kv for kv in opts),
                     '--', 'set', 'port', name, 'external_ids:%s=%s' % (TUNNEL_MARK, remote_ip),
                     *tag),
        PortIs(name, settings.tun_bridge, 'vxlan', tuple(opts), tun_vlan,
               ((TUNNEL_MARK, remote_ip),)))


def tunnel_bfd_step(settings, target, remote_ip):
    """BFD on the tunnel as configured, set in place after ``tunnel_step``: a tunnel made
    before BFD (or with another interval) gets it without being replaced, so it keeps its
    ofport and the flows and learned MACs behind it. Only the ``bfd`` keys we set are
    touched (the tunnel step checks the rest and would replace the port whole)."""
    name = tunnel_port_name(remote_ip)
    bfd = tunnel_bfd(settings)
    if bfd:
        what = 'BFD on %s, every %d ms' % (name, settings.bfd_interval_ms)
        argv = target.vsctl('--', 'set', 'interface', name, *('bfd:%s=%s' % kv for kv in bfd))
    else:
        what = 'BFD off on %s (bfd_interval_ms = 0)' % name
        argv = target.vsctl('--', 'remove', 'interface', name, 'bfd', 'enable')
    return Step(what, argv, BfdIs(name, settings.tun_bridge, bfd))


def tunnel_removal_step(settings, target, name):
    return Step('VXLAN port %s (ours, no longer wanted)' % name,
                target.vsctl('--', '--if-exists', 'del-port', settings.tun_bridge, name),
                PortGone(name, settings.tun_bridge))


def stale_tunnels(settings, ports):
    """Names of the tunnels we made (marked) on br-tun that ``settings`` no longer wants.

    ``ports``: the observed OvsPorts. A ``vxlan-*`` port without our mark is never one."""
    wanted = {tunnel_port_name(ip): ip for ip in settings.remote_ips}
    return sorted(p.name for p in ports.values()
                  if p.bridge == settings.tun_bridge and p.external_id(TUNNEL_MARK) is not None
                  and p.name not in wanted)  # a wanted one is replaced whole, not removed


def vm_port_steps(settings, target, vm, tag, iface_id=None, mac=None):
    """The steps that plumb one VM port as Nova and os-vif do: Linux bridge qbrID, veth
    qvoID/qvbID with qvoID on br-int tagged ``tag`` and, with a namespace, a veth tapID <->
    eth0 into it holding the address.

    Registry mode passes the dead VLAN as ``tag`` with the port's ``iface_id`` (and the
    VM's ``mac``): the app re-tags the port once the registry binds it, so the tag is then
    the app's to keep and is not checked here."""
    s, vs, ip, node = settings, target.vsctl, target.ip, target.netns
    vni = '' if iface_id else ', local VLAN %d (VNI %#x)' % (tag, vm.vni)
    iface = (('--', 'set', 'interface', vm.ovs_port, 'external_ids:iface-id=' + iface_id)
             + (('external_ids:attached-mac=' + mac,) if mac else ())) if iface_id else ()
    steps = [
        # No multicast snooping: else the bridge's own IGMP joins cross the overlay and
        # the far node's table 20 learns the qbr's MAC beside the VM's.
        Step('Linux bridge %s' % vm.bridge,
             ip('link', 'add', vm.bridge, 'type', 'bridge', 'mcast_snooping', '0'),
             LinkIs(node, vm.bridge, kind='bridge')),
        Step('%s up' % vm.bridge, ip('link', 'set', vm.bridge, 'up'),
             LinkIs(node, vm.bridge, up=True)),
        Step('veth %s / %s' % (vm.ovs_port, vm.bridge_port),
             ip('link', 'add', vm.ovs_port, 'type', 'veth', 'peer', 'name', vm.bridge_port),
             AllOf((LinkIs(node, vm.ovs_port, kind='veth'),
                    LinkIs(node, vm.bridge_port, kind='veth')))),
        Step('%s up' % vm.ovs_port, ip('link', 'set', vm.ovs_port, 'up'),
             LinkIs(node, vm.ovs_port, up=True)),
        Step('%s up' % vm.bridge_port, ip('link', 'set', vm.bridge_port, 'up'),
             LinkIs(node, vm.bridge_port, up=True)),
        Step('%s in %s' % (vm.bridge_port, vm.bridge),
             ip('link', 'set', vm.bridge_port, 'master', vm.bridge),
             LinkIs(node, vm.bridge_port, master=vm.bridge)),
        Step('%s on %s%s' % (vm.ovs_port, s.int_bridge,
                             vni or ', iface-id %s (dead VLAN until bound)' % iface_id),
             vs('--', '--may-exist', 'add-port', s.int_bridge, vm.ovs_port,
                '--', 'set', 'port', vm.ovs_port, 'tag=%d' % tag, *iface),
             PortIs(vm.ovs_port, s.int_bridge, '', (), ANY if iface_id else tag)),
    ]
    if vm.namespace is None:
        return steps
    ns = vm.namespace
    peer_mac = ('address', mac) if mac else ()
    return steps + [
        Step('namespace %s' % ns, ('ip', 'netns', 'add', ns), NetnsExists(ns)),
        Step('lo up in %s' % ns, ip('link', 'set', 'lo', 'up', netns=ns),
             LinkIs(ns, 'lo', up=True)),
        Step('veth %s / %s in %s' % (vm.tap, VM_IFNAME, ns),
             ip('link', 'add', vm.tap, 'type', 'veth', 'peer', 'name', VM_IFNAME, *peer_mac,
                'netns', ns),
             AllOf((LinkIs(node, vm.tap, kind='veth'), LinkIs(ns, VM_IFNAME, kind='veth')))),
        Step('%s in %s' % (vm.tap, vm.bridge), ip('link', 'set', vm.tap, 'master', vm.bridge),
             LinkIs(node, vm.tap, master=vm.bridge)),
        Step('%s up' % vm.tap, ip('link', 'set', vm.tap, 'up'), LinkIs(node, vm.tap, up=True)),
        Step('%s up in %s' % (VM_IFNAME, ns), ip('link', 'set', VM_IFNAME, 'up', netns=ns),
             LinkIs(ns, VM_IFNAME, up=True)),
        Step('%s on %s in %s' % (vm.address, VM_IFNAME, ns),
             ip('addr', 'add', vm.address, 'dev', VM_IFNAME, netns=ns),
             LinkIs(ns, VM_IFNAME, address=vm.address)),
    ]


def plan_bootstrap(settings, target=Target(), standalone_vni=None, remove_tunnels=()):
    """The steps that make the node match ``settings``.

    ``remove_tunnels``: names of our tunnels that left ``remote_ips`` (``stale_tunnels()``
    of the observed node), removed after the wanted ones are in place.

    ``standalone_vni``: the article's underlay check instead of the pipeline: br-tun in
    fail_mode standalone without controller, tunnels with the fixed ``key=VNI`` and tagged
    with that VNI's local VLAN (so frames cross the tunnel untagged and each node keeps its
    own local VLAN, as the flow pipeline does).
    """
    _validate(settings, target)
    s, vs = settings, target.vsctl
    tun_vlan = None
    if standalone_vni is not None:
        try:
            tun_vlan = s.local_vlan_of(standalone_vni)
        except KeyError:
            raise PlanError('--standalone-check', '%#x' % standalone_vni,
                            'VNI is not in vpcs') from None
    steps = []

    # br-tun. The controller goes in with add-br (OVS flushes a bridge's flows when its
    # controller set turns from empty to non-empty), and a finished br-tun is never touched.
    fail_mode = 'secure' if tun_vlan is None else 'standalone'
    bridge_set = ('set', 'bridge', s.tun_bridge, 'fail_mode=' + fail_mode,
                  'protocols=' + ','.join(BR_TUN_PROTOCOLS),
                  'datapath_type=' + s.datapath_type)
    if tun_vlan is None:
        ctl = ('--', 'set-controller', s.tun_bridge, s.controller,
               '--', 'set', 'controller', s.tun_bridge, 'connection_mode=' + CONNECTION_MODE)
        controllers, what = ((s.controller, CONNECTION_MODE),), 'controller %s' % s.controller
    else:
        ctl, controllers, what = ('--', 'del-controller', s.tun_bridge), (), 'no controller'
    steps.append(Step(
        '%s: fail_mode %s, %s, datapath %s' % (s.tun_bridge, fail_mode, what, s.datapath_type),
        vs('--', '--may-exist', 'add-br', s.tun_bridge, '--', *bridge_set, *ctl),
        BridgeIs(s.tun_bridge, fail_mode, s.datapath_type, BR_TUN_PROTOCOLS, controllers)))
    steps.append(Step(
        '%s: fail_mode standalone, datapath %s' % (s.int_bridge, s.datapath_type),
        vs('--', '--may-exist', 'add-br', s.int_bridge, '--', 'set', 'bridge', s.int_bridge,
           'fail_mode=standalone', 'datapath_type=' + s.datapath_type),
        BridgeIs(s.int_bridge, 'standalone', s.datapath_type)))

    for port, bridge, peer in ((s.patch_int_port, s.tun_bridge, s.patch_tun_port),
                               (s.patch_tun_port, s.int_bridge, s.patch_int_port)):
        steps.append(Step(
            'patch port %s on %s, peer %s' % (port, bridge, peer),
            vs('--', '--may-exist', 'add-port', bridge, port, '--', 'set', 'interface', port,
               'type=patch', 'options:peer=' + peer),
            PortIs(port, bridge, 'patch', (('peer', peer),))))

    for remote_ip in s.remote_ips:
        steps += [tunnel_step(s, target, remote_ip, standalone_vni, tun_vlan),
                  tunnel_bfd_step(s, target, remote_ip)]
    steps += [tunnel_removal_step(s, target, name) for name in remove_tunnels]

    for vm in s.vm_ports:
        steps += vm_port_steps(s, target, vm, s.local_vlan_of(vm.vni))
    return Plan(tuple(steps), _namespaces(s), expected_interfaces(s))


def expected_interfaces(settings):
    """Every OVS interface plan_bootstrap makes for ``settings``, bridge by bridge."""
    s = settings
    return ((Expect('bridge', s.tun_bridge, s.tun_bridge),
             Expect('patch port', s.patch_int_port, s.tun_bridge))
            + tuple(Expect('VXLAN port', tunnel_port_name(ip), s.tun_bridge)
                    for ip in s.remote_ips)
            + (Expect('bridge', s.int_bridge, s.int_bridge),
               Expect('patch port', s.patch_tun_port, s.int_bridge))
            + tuple(Expect('VM port', vm.ovs_port, s.int_bridge) for vm in s.vm_ports))


def vm_port_removal_steps(settings, target, vm):
    """Undo vm_port_steps; what holds something it did not make is kept."""
    s, vs, ip, node = settings, target.vsctl, target.ip, target.netns
    steps = []
    if vm.namespace is not None:
        steps += [
            Step('veth %s / %s in %s' % (vm.tap, VM_IFNAME, vm.namespace),
                 ip('link', 'del', vm.tap), LinkGone(node, vm.tap)),
            Step('namespace %s' % vm.namespace, ('ip', 'netns', 'del', vm.namespace),
                 NetnsGone(vm.namespace)),
        ]
    return steps + [
        Step('%s on %s' % (vm.ovs_port, s.int_bridge),
             vs('--', '--if-exists', 'del-port', s.int_bridge, vm.ovs_port),
             PortGone(vm.ovs_port, s.int_bridge)),
        Step('veth %s / %s' % (vm.ovs_port, vm.bridge_port), ip('link', 'del', vm.ovs_port),
             VmVethGone(node, vm.ovs_port, s.int_bridge)),
        Step('Linux bridge %s' % vm.bridge, ip('link', 'del', vm.bridge),
             LinuxBridgeGone(node, vm.bridge)),
    ]


def plan_teardown(settings, target=Target()):
    """The steps that remove what plan_bootstrap makes, and nothing else.

    Objects are named by the config. A bridge, Linux bridge or namespace that still holds
    something bootstrap did not make is kept (the step reports it) instead of deleted.
    """
    _validate(settings, target)
    s, vs = settings, target.vsctl
    steps = []
    for vm in s.vm_ports:
        steps += vm_port_removal_steps(s, target, vm)
    for remote_ip in s.remote_ips:
        name = tunnel_port_name(remote_ip)
        steps.append(Step('VXLAN port %s' % name,
                          vs('--', '--if-exists', 'del-port', s.tun_bridge, name),
                          PortGone(name, s.tun_bridge)))
    for port, bridge in ((s.patch_int_port, s.tun_bridge), (s.patch_tun_port, s.int_bridge)):
        steps.append(Step('patch port %s' % port,
                          vs('--', '--if-exists', 'del-port', bridge, port),
                          PortGone(port, bridge)))
    for bridge in (s.tun_bridge, s.int_bridge):
        steps.append(Step('bridge %s' % bridge, vs('--', '--if-exists', 'del-br', bridge),
                          BridgeGone(bridge)))
    return Plan(tuple(steps), _namespaces(s))


def _namespaces(settings):
    return tuple(vm.namespace for vm in settings.vm_ports if vm.namespace)
