"""The lab: N compute nodes of the article on one machine, built, checked and removed.

Everything lives in one state directory: ``lab.json`` (the record of what was made),
one directory per node (generated config, OVS run directory, ryu-manager log). Each thing is
written to the record *before* it is made, so ``down`` removes exactly what ``up`` made,
also after a partial failure, and is safe to run twice. The directory is one ``up`` made
itself, root's with mode 0700 (``statedir``): no command trusts a record found elsewhere.
"""
import dataclasses
import json
import os
import shlex
import shutil
import sys
import time

from .. import config, procs, shell
from ..bootstrap import apply, plan_bootstrap, readback
from ..bootstrap.execute import read_ovs
from ..bootstrap.plan import Target
from ..model import DEAD_VLAN, TUNNEL_MARK, Vpc, tunnel_port_name
from ..ovs_instance import OvsInstance
from ..pipeline import br_tun
from ..registry import fleet
from ..ryu_process import RyuManager
from . import report, runtime, statedir, topology as topo_mod
from .common import LabError, wait  # noqa: F401  (LabError: the lab's error, for callers)
from .ping import ping
from .report import tun_bridge
from .topology import NODE_NIC, PHY_BRIDGE, UNDERLAY_BRIDGE, UNDERLAY_MTU

DEFAULT_STATE_DIR = '/run/ryu-vxlan-vpc-lab'
RECORD = 'lab.json'
CONF_NAME = 'vxlan_vpc.conf'
TOOLS = ('ip', 'ping', 'ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl',
         'ovs-appctl')
MAX_SOCKET_PATH = 107
# The longest socket an OVS of the lab makes: ovs-vswitchd's control socket, named by its
# pid (pid_max is at most 2^22), see ovs_instance.
LONGEST_SOCKET = '/ovs-vswitchd.4194304.ctl'
CONNECT_TIMEOUT = 40.0   # OVS reconnect backoff reaches 8 s
PIPELINE_TIMEOUT = 30.0
LISTEN_TIMEOUT = 40.0


def ryu_manager_path():
    return os.path.join(os.path.dirname(sys.executable), 'ryu-manager')


def find_config_dir():
    """etc/ryu_vxlan_vpc of the checkout: from the working directory, else next to the code."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for base in (os.getcwd(), here):
        path = os.path.join(base, 'etc', 'ryu_vxlan_vpc')
        if os.path.exists(os.path.join(path, 'compute1.conf')):
            return path
    return None


class Lab:
    def __init__(self, state_dir=DEFAULT_STATE_DIR, out=print):
        self.state_dir = os.path.abspath(state_dir)
        self.record_path = os.path.join(self.state_dir, RECORD)
        self.out = out

    # --- the record ------------------------------------------------------------------
    def load(self):
        """The record, from a state dir the lab made (else LabError, exit 2); None: no lab."""
        if not statedir.check(self.state_dir):
            return None
        try:
            with open(self.record_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except PermissionError:
            raise LabError('cannot read %s: the lab is root\'s (run as root)'
                           % self.record_path) from None
        except ValueError as exc:
            raise LabError('%s is damaged (%s); remove the lab by hand' % (self.record_path, exc))

    def save(self, rec):
        tmp = self.record_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(rec, f, indent=1)
        os.replace(tmp, self.record_path)

    def _node_dir(self, node):
        return os.path.join(self.state_dir, node.name)

    def ovs(self, node_rec):
        return OvsInstance(node_rec['ovs_rundir'], node_rec['netns'])

    # --- up ----------------------------------------------------------------------------
    def plan(self, nodes=2, prefix='', second_vpc=False, config_dir=None):
        base = {}
        if config_dir:
            for i in (1, 2):
                path = os.path.join(config_dir, 'compute%d.conf' % i)
                if i <= nodes and os.path.exists(path):
                    base[i] = (config.load_file(path), path)
        return topo_mod.build(nodes, prefix, base, second_vpc)

    def up(self, nodes=2, prefix='', second_vpc=False, standalone_check=False,
           config_dir=None, ryu_manager=None, verbose=False, static=False):
        """Build the lab; returns the pings made. Raises LabError (nothing or all recorded).

        By default every node follows the lab's etcd registry, which the lab fills through
        ``registry.fleet``; ``static`` (and ``standalone_check``) gives each node a config
        file holding the whole mesh instead, the article's way."""
        registry = not (static or standalone_check)
        started = time.monotonic()
        try:
            topo = self.plan(nodes, prefix, second_vpc, config_dir)
        except (config.ConfigError, topo_mod.TopologyError) as exc:
            raise LabError('lab up: %s (nothing was built)' % exc, 2) from None
        ryu = ryu_manager or ryu_manager_path()
        self._preflight(topo, standalone_check, ryu, registry)
        if not statedir.check(self.state_dir):
            statedir.create(self.state_dir)
        rec = {'version': 1, 'status': 'building', 'prefix': prefix,
               'created': time.strftime('%Y-%m-%d %H:%M:%S'),
               'standalone_check': standalone_check, 'second_vpc': second_vpc,
               'namespaces': [], 'paths': [], 'nodes': [], 'registry': None,
               'registry_mode': registry}
        self.save(rec)
        try:
            settings = self._write_configs(topo, rec, registry)
        except config.ConfigError as exc:
            self.down(quiet=True)
            raise LabError('lab up: generated config refused: %s (nothing was built)' % exc, 2)
        phase = 'starting'
        try:
            phase = 'building the underlay'
            self._underlay(topo, rec, registry)
            if registry:
                phase = 'starting etcd and registering the nodes'
                runtime.start_registry(self, rec)
                self._register(topo, rec)
            phase = 'starting OVS'
            for node, node_rec in zip(topo.nodes, rec['nodes']):
                self.save(rec)
                self.ovs(node_rec).start()
                self._br_phy(node, node_rec)
            if not standalone_check:
                phase = 'starting ryu-manager'
                for node, node_rec in zip(topo.nodes, rec['nodes']):
                    self._start_ryu(node, node_rec, settings[node.name], ryu, rec)
                for node_rec in rec['nodes']:
                    self._wait_listening(node_rec)
            phase = 'bootstrapping the nodes'
            self._bootstrap(topo, rec, settings, standalone_check, verbose)
            if not standalone_check:
                phase = 'waiting for the controllers'
                self._wait_connected(rec)
            if registry:
                phase = 'adding the VMs'
                for node, node_rec in zip(topo.nodes, rec['nodes']):
                    for port in node.settings.vm_ports:
                        runtime.add_vm(self, rec, node_rec, port.vni, port.namespace,
                                       port.address, port.id)
                phase = 'waiting for the registry to be applied'
                for node_rec in rec['nodes']:
                    self.wait_converged(node_rec, rec)
            elif not standalone_check:
                phase = 'waiting for the pipelines'
                self._wait_pipelines(rec, settings)
            phase = 'pinging'
            pings = self._ping(topo)
            rec['status'] = 'up'
            self.save(rec)
        except BaseException as exc:
            rec['status'] = 'failed'
            self.save(rec)
            detail = str(exc) if isinstance(exc, (LabError, shell.CommandError)) else repr(exc)
            message = ('lab up failed while %s: %s\nThe partial lab is left for inspection in '
                       '%s; `%s lab down%s` removes all of it.'
                       % (phase, detail, self.state_dir, report.cli_name(), self.state_flag()))
            if isinstance(exc, KeyboardInterrupt):
                self.out(message)
                raise
            raise LabError(message) from exc
        self._report(topo, rec, pings, time.monotonic() - started)
        return pings

    def state_flag(self):
        """What printed commands add to reach this lab (quoted: they are run as printed)."""
        return ('' if self.state_dir == DEFAULT_STATE_DIR
                else ' --state-dir ' + shlex.quote(self.state_dir))

    def _preflight(self, topo, standalone_check, ryu, registry=False):
        rec = self.load()
        if rec is not None:
            me, flag = report.cli_name(), self.state_flag()
            raise LabError('a lab is already %s in %s (%d nodes: %s, built %s).\n'
                           '`%s lab status%s` shows it; `%s lab down%s` removes it.'
                           % (rec.get('status'), self.state_dir, len(rec['nodes']),
                              ', '.join(n['name'] for n in rec['nodes']), rec.get('created'),
                              me, flag, me, flag))
        if os.geteuid() != 0:
            raise LabError('lab up needs root (network namespaces, ovs-vswitchd)')
        tools = TOOLS + (('etcd',) if registry else ())
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            raise LabError('missing programs: %s (run `make system-deps`)' % ', '.join(missing))
        if not standalone_check and not os.access(ryu, os.X_OK):
            raise LabError('no ryu-manager at %s (run `make install`)' % ryu)
        leftovers = os.path.isdir(self.state_dir) and statedir.leftovers(self.state_dir)
        if leftovers:
            raise LabError('%s holds no lab but %s; remove them or choose another --state-dir'
                           % (self.state_dir, ', '.join(leftovers)))
        longest = max(len(os.path.join(self.state_dir, n.name, 'ovs')) for n in topo.nodes)
        if longest + len(LONGEST_SOCKET) > MAX_SOCKET_PATH:
            raise LabError('--state-dir %s is too long for OVS unix socket paths' %
                           self.state_dir, 2)
        taken = sorted(set(topo.namespaces()) & report.namespaces())
        if taken:
            raise LabError('network namespace(s) %s already exist and are not part of a lab '
                           'in %s; nothing was built' % (', '.join(taken), self.state_dir))

    def _write_configs(self, topo, rec, registry=False):
        settings = {}
        for node in topo.nodes:
            rec['nodes'].append(self._write_config(node, rec, registry, len(topo.nodes)))
            settings[node.name] = self.node_settings(rec['nodes'][-1])
        self.save(rec)
        return settings

    def _write_config(self, node, rec, registry, count):
        """The node's config file (validated like any config) and its record."""
        node_dir = self._node_dir(node)
        rec['paths'].append(node_dir)
        self.save(rec)
        os.makedirs(node_dir, exist_ok=True)
        path = os.path.join(node_dir, CONF_NAME)
        rundir = os.path.join(node_dir, 'ovs')
        # The node's own OVSDB in both modes: tunnels and VM ports (registry), the
        # tunnels' BFD health and SIGHUP's tunnel changes (static) are read and made there.
        s = dataclasses.replace(node.settings, ovsdb_connection='unix:%s/db.sock' % rundir)
        if registry:
            s = dataclasses.replace(s, remote_ips=(), vpcs=(), vm_ports=(),
                                    etcd_endpoints=(runtime.ETCD_ENDPOINT,))
            what = 'VPCs, nodes and VM ports from the lab\'s etcd registry'
        else:
            what = 'remote_ips for a %d-node mesh' % count
        note = ('%s of the lab in %s. From %s, with %s%s.'
                % (node.name, self.state_dir, node.source or 'the lab\'s generator', what,
                   ' and namespace prefix %r' % rec['prefix'] if rec['prefix'] else ''))
        with open(path, 'w') as f:
            f.write(topo_mod.render_config(s, note))
        config.load_file(path)   # validated like any config
        return {'name': node.name, 'index': node.index, 'netns': node.netns,
                'vtep': node.vtep, 'config': path, 'source': node.source,
                'ovs_rundir': rundir, 'tun_bridge': s.tun_bridge, 'registry': registry,
                'vms': [] if registry else [dataclasses.asdict(vm) for vm in node.vms()],
                'ryu': None}

    def node_settings(self, node_rec):
        return config.load_file(node_rec['config'])

    def _register(self, topo, rec):
        """Every node and VPC of the topology, through the fleet CLI's own functions."""
        for node in topo.nodes:
            runtime.register(rec, fleet.add_node, node.name, node.vtep)
        for vni in sorted({vm.vni for vm in topo.vms()}):
            runtime.register(rec, fleet.add_vpc, '%#x' % vni)

    def add_netns(self, rec, name):
        rec['namespaces'].append(name)
        self.save(rec)
        shell.run(['ip', 'netns', 'add', name])
        shell.run(['ip', '-n', name, 'link', 'set', 'lo', 'up'])

    def _underlay(self, topo, rec, registry=False):
        ul = topo.underlay_netns
        rec['underlay'] = ul
        self.add_netns(rec, ul)
        shell.run(['ip', '-n', ul, 'link', 'add', UNDERLAY_BRIDGE, 'mtu', str(UNDERLAY_MTU),
                   'type', 'bridge'])
        shell.run(['ip', '-n', ul, 'link', 'set', UNDERLAY_BRIDGE, 'up'])
        for node in topo.nodes:
            self._node_netns(rec, node)
        if not registry:
            # The VM namespaces are made by bootstrap; recorded now so down removes them.
            rec['namespaces'] += [vm.namespace for vm in topo.vms()]
            self.save(rec)

    def _node_netns(self, rec, node):
        self.add_netns(rec, node.netns)
        # No IPv6 on the node's own links (br-phy, qbr, qvo/qvb, tap), as os-vif does for
        # qbr: only the VMs' MACs get learned into table 20, as in the article.
        for scope in ('all', 'default'):
            shell.run(['ip', 'netns', 'exec', node.netns, 'tee',
                       '/proc/sys/net/ipv6/conf/%s/disable_ipv6' % scope], input='1')
        self.link_to_underlay(rec, node.netns, node.uplink)
        if rec.get('registry_mode'):
            self.link_to_underlay(rec, node.netns, node.uplink + '-m', topo_mod.MGMT_NIC,
                                  '%s/%d' % (topo_mod.mgmt_ip(node.index),
                                             topo_mod.MGMT_PREFIX_LEN))

    def link_to_underlay(self, rec, netns, uplink, nic=NODE_NIC, address=None):
        """A veth from ``netns`` (``nic``, holding ``address``) to the underlay bridge."""
        ul = rec.get('underlay') or rec['prefix'] + topo_mod.UNDERLAY_NETNS
        shell.run(['ip', '-n', netns, 'link', 'add', nic, 'mtu', str(UNDERLAY_MTU),
                   'type', 'veth', 'peer', 'name', uplink, 'mtu', str(UNDERLAY_MTU),
                   'netns', ul])
        shell.run(['ip', '-n', ul, 'link', 'set', uplink, 'master', UNDERLAY_BRIDGE, 'up'])
        if address:
            shell.run(['ip', '-n', netns, 'addr', 'add', address, 'dev', nic])
        shell.run(['ip', '-n', netns, 'link', 'set', nic, 'up'])

    def _br_phy(self, node, node_rec):
        """Userspace VXLAN: the VTEP address on br-phy, whose port is the node's NIC."""
        ovs = self.ovs(node_rec)
        ovs.vsctl('--', '--may-exist', 'add-br', PHY_BRIDGE, '--', 'set', 'bridge', PHY_BRIDGE,
                  'datapath_type=netdev', 'fail_mode=standalone',
                  '--', '--may-exist', 'add-port', PHY_BRIDGE, NODE_NIC,
                  '--', 'set', 'interface', PHY_BRIDGE, 'mtu_request=%d' % UNDERLAY_MTU)
        shell.run(['ip', '-n', node.netns, 'addr', 'add',
                   '%s/%d' % (node.vtep, topo_mod.VTEP_PREFIX_LEN), 'dev', PHY_BRIDGE])
        shell.run(['ip', '-n', node.netns, 'link', 'set', PHY_BRIDGE, 'up'])

    def _start_ryu(self, node, node_rec, settings, ryu, rec):
        host, port = topo_mod.controller_endpoint(settings)
        log = os.path.join(self._node_dir(node), 'ryu-manager.log')
        argv = RyuManager(node.netns, node_rec['config'], log, port, ryu_manager=ryu, extra=[
            '--ofp-listen-host', host, '--wsapi-host', '127.0.0.1']).argv
        node_rec['ryu'] = {'argv': argv, 'log': log, 'port': port, 'pid': None}
        self.save(rec)
        pid, started = procs.spawn(argv, log)
        node_rec['ryu'].update(pid=pid, started=started)
        self.save(rec)

    def _ryu_check(self, node_rec):
        ryu = node_rec['ryu']
        if not procs.alive(ryu['pid'], ryu['started']):
            raise LabError('ryu-manager of %s exited; last lines of %s:\n%s'
                           % (node_rec['name'], ryu['log'], procs.tail(ryu['log'])))

    def _wait_listening(self, node_rec):
        ryu = node_rec['ryu']

        def ready():
            self._ryu_check(node_rec)
            return procs.listening(ryu['pid'], ryu['port'])
        wait(ready, LISTEN_TIMEOUT, 'ryu-manager of %s to listen on port %d'
              % (node_rec['name'], ryu['port']))

    def _bootstrap(self, topo, rec, settings, standalone_check, verbose):
        for node, node_rec in zip(topo.nodes, rec['nodes']):
            s = settings[node.name]
            vni = s.vpcs[0].vni if standalone_check else None
            node_rec['bootstrap_steps'] = self.bootstrap_node(node_rec, s, vni, verbose)
            self.save(rec)

    def bootstrap_node(self, node_rec, settings, standalone_vni=None, verbose=False):
        """``ryu-vxlan-vpc bootstrap`` of one node, read back as the command does (so a
        bridge or port OVS could not make fails here, not as a later timeout); returns how
        many steps ran."""
        target = Target.make(db=self.ovs(node_rec).db, netns=node_rec['netns'])
        plan = plan_bootstrap(settings, target, standalone_vni=standalone_vni)
        ran = apply(plan, target, out=self.out if verbose else (lambda line: None)).ran
        try:
            failed = readback.read_back(plan, target)
        except readback.NotApplied as exc:
            raise LabError('%s: %s' % (node_rec['name'], exc)) from None
        if failed:
            raise LabError('\n'.join(readback.explain(failed, target, 'bootstrap',
                                                       node_rec['config'])))
        return ran

    def _wait_connected(self, rec):
        for node_rec in rec['nodes']:
            ovs = self.ovs(node_rec)
            t0 = time.monotonic()

            def connected():
                self._ryu_check(node_rec)
                return ovs.vsctl('get', 'controller', tun_bridge(node_rec),
                                 'is_connected').strip() == 'true'
            wait(connected, CONNECT_TIMEOUT, '%s of %s to connect to its ryu-manager'
                  % (tun_bridge(node_rec), node_rec['name']))
            node_rec['connected_after'] = round(time.monotonic() - t0, 1)

    def expected_flows(self, node_rec, s):
        ovs = self.ovs(node_rec)
        state = br_tun.BrTunState.of(s, ovs.ofport(s.patch_int_port),
                                     (ovs.ofport(tunnel_port_name(ip)) for ip in s.remote_ips))
        return len(br_tun.build(state))

    def flow_count(self, node_rec, cookie=None):
        args = ['cookie=%#x/-1' % cookie] if cookie is not None else []
        text = self.ovs(node_rec).ofctl('dump-flows', tun_bridge(node_rec), *args)
        return sum(1 for line in text.splitlines() if 'cookie=' in line)

    def _wait_pipelines(self, rec, settings):
        for node_rec in rec['nodes']:
            s = settings[node_rec['name']]
            want = self.expected_flows(node_rec, s)

            def complete():
                self._ryu_check(node_rec)
                return self.flow_count(node_rec, s.flow_cookie) == want
            wait(complete, PIPELINE_TIMEOUT, '%d pipeline flows on %s of %s'
                  % (want, tun_bridge(node_rec), node_rec['name']))
            node_rec['pipeline_flows'] = want

    def converged(self, node_rec, rec):
        """Whether ``node_rec`` holds what the registry says: a tunnel to every other node,
        its VM ports on their VPC's local VLAN, and exactly the pipeline for those."""
        self._ryu_check(node_rec)
        s = self.node_settings(node_rec)
        _, ports = read_ovs(Target.make(db=self.ovs(node_rec).db))
        others = {n['vtep'] for n in rec['nodes'] if n is not node_rec}
        tunnels = [p for p in ports.values() if p.bridge == s.tun_bridge
                   and p.external_id(TUNNEL_MARK) in others and (p.ofport or 0) > 0]
        if len(tunnels) != len(others):
            return False
        vlans = {}
        for vm in node_rec['vms']:
            port = ports.get('qvo' + vm['id'])
            if port is None or not isinstance(port.tag, int) or port.tag == DEAD_VLAN:
                return False
            vlans[vm['vni']] = port.tag
        patch = ports.get(s.patch_int_port)
        to_node = {p.external_id(TUNNEL_MARK): p.ofport for p in tunnels}
        # Other nodes' VMs in this node's VPCs: l2population and the ARP responder entries.
        remote = [br_tun.RemoteRoute(vm['vni'], vm['mac'], vm['address'].split('/')[0],
                                     to_node[n['vtep']])
                  for n in rec['nodes'] if n is not node_rec for vm in n['vms']
                  if vm['vni'] in vlans]
        state = br_tun.BrTunState.of(s, patch.ofport, [p.ofport for p in tunnels],
                                     vpcs=[Vpc(vni, vlan) for vni, vlan in vlans.items()],
                                     remote_ports=remote)
        node_rec['pipeline_flows'] = len(br_tun.build(state))
        return self.flow_count(node_rec, s.flow_cookie) == node_rec['pipeline_flows']

    def wait_converged(self, node_rec, rec, timeout=PIPELINE_TIMEOUT):
        wait(lambda: self.converged(node_rec, rec), timeout,
             '%s to hold the registry\'s tunnels, VM port tags and pipeline' % node_rec['name'])
        self.save(rec)

    # --- a running lab: nodes and VMs added and removed (registry mode) -------------------
    def _running(self):
        rec = self.load()
        if rec is None:
            raise LabError('no lab in %s' % self.state_dir, 3)
        if not rec.get('registry'):
            raise LabError('the lab in %s has no registry (it was built with --static or '
                           '--standalone-check): nodes and VMs are fixed' % self.state_dir, 2)
        return rec

    def node(self, rec, name):
        for n in rec['nodes']:
            if name in (n['name'], n['netns']):
                return n
        raise LabError('no node %r in the lab (nodes: %s)'
                       % (name, ', '.join(n['name'] for n in rec['nodes'])), 2)

    def add_node(self, ryu_manager=None, verbose=False):
        """A new compute node joins the running mesh; returns its record."""
        rec = self._running()
        index = max(n.get('index', 0) for n in rec['nodes']) + 1
        if index > topo_mod.MAX_NODES:
            raise LabError('the lab has room for %d nodes' % topo_mod.MAX_NODES, 2)
        base = topo_mod.generated_settings(index)
        node = topo_mod.Node(index, 'compute%d' % index, rec['prefix'] + 'compute%d' % index,
                             base.local_ip, dataclasses.replace(
                                 base, vm_ports=(), node_name='compute%d' % index), None)
        if node.netns in report.namespaces():
            raise LabError('network namespace %s already exists' % node.netns, 2)
        node_rec = self._write_config(node, rec, True, len(rec['nodes']) + 1)
        rec['nodes'].append(node_rec)
        self.save(rec)
        s = self.node_settings(node_rec)
        self._node_netns(rec, node)
        self.ovs(node_rec).start()
        self._br_phy(node, node_rec)
        self._start_ryu(node, node_rec, s, ryu_manager or ryu_manager_path(), rec)
        self._wait_listening(node_rec)
        node_rec['bootstrap_steps'] = self.bootstrap_node(node_rec, s, verbose=verbose)
        self._wait_connected({'nodes': [node_rec]})
        runtime.register(rec, fleet.add_node, node.name, node.vtep)
        self.save(rec)
        return node_rec

    def restart_ryu(self, name):
        """ryu-manager of node ``name`` started again with the same command line."""
        rec = self.load()
        node_rec = self.node(rec, name)
        ryu = node_rec['ryu']
        if procs.alive(ryu['pid'], ryu.get('started')):
            raise LabError('ryu-manager of %s (pid %d) is still running' % (name, ryu['pid']), 2)
        ryu['pid'], ryu['started'] = procs.spawn(ryu['argv'], ryu['log'])
        self.save(rec)
        self._wait_listening(node_rec)
        self._wait_connected({'nodes': [node_rec]})
        return node_rec

    def remove_node(self, name):
        """``fleet node remove`` (its ports too), then its processes and namespaces."""
        rec = self._running()
        node_rec = self.node(rec, name)
        said = runtime.register(rec, fleet.remove_node, node_rec['name'])
        ryu = node_rec.get('ryu') or {}
        if ryu.get('pid'):
            procs.stop(ryu['pid'], ryu.get('started'))
        self.ovs(node_rec).stop()
        for netns in [vm['namespace'] for vm in node_rec['vms']] + [node_rec['netns']]:
            shell.run(['ip', 'netns', 'del', netns], check=False)
            if netns in rec['namespaces']:
                rec['namespaces'].remove(netns)
        node_dir = os.path.dirname(node_rec['config'])
        if statedir.inside(node_dir, self.state_dir):
            shutil.rmtree(node_dir, ignore_errors=True)
        if node_dir in rec['paths']:
            rec['paths'].remove(node_dir)
        rec['nodes'].remove(node_rec)
        self.save(rec)
        return said

    def add_vm(self, node, vni, address=None, mac=None):
        rec = self._running()
        return runtime.add_vm(self, rec, self.node(rec, node), vni, address=address, mac=mac)

    def remove_vm(self, name):
        rec = self._running()
        node_rec, vm = runtime.find_vm(rec, name)
        if vm is None:
            raise LabError('no VM %r in the lab (VM namespaces: %s)' % (name, ', '.join(
                v['namespace'] for n in rec['nodes'] for v in n['vms']) or 'none'), 2)
        said = runtime.remove_vm(self, rec, node_rec, vm)
        if vm['namespace'] in rec['namespaces']:
            rec['namespaces'].remove(vm['namespace'])
        self.save(rec)
        return said

    def _ping(self, topo):
        first = topo.nodes[0].vms()[0]
        pings = []
        for node in topo.nodes[1:]:
            dst = node.vms()[0]
            # The first packets wait for ARP (the VMs' and the VTEPs'): warm up, then measure.
            wait(lambda: ping(first.namespace, dst.ip, 1, 0.2, 1).received, 15,
                  'a first reply from %s (%s)' % (dst.ip, dst.namespace), interval=0)
            pings.append(ping(first.namespace, dst.ip, label='%s (%s, VNI %#x) -> %s (%s)' % (
                first.ip, first.node, first.vni, dst.ip, dst.node)))
        if any(vm.vni == topo_mod.SECOND_VNI for vm in topo.vms()):
            a, b = (n.vms()[1] for n in topo.nodes[:2])
            wait(lambda: ping(a.namespace, b.ip, 1, 0.2, 1).received, 15,
                  'a first reply in VNI %#x' % topo_mod.SECOND_VNI, interval=0)
            pings.append(ping(a.namespace, b.ip, 3, label='%s (%s) -> %s (%s), both in VNI %#x'
                              % (a.ip, a.node, b.ip, b.node, b.vni)))
            pings.append(ping(first.namespace, b.ip, 3, 0.2, 1, expect_reply=False,
                              label='isolation: %s (VNI %#x) -> %s (VNI %#x), must not answer'
                              % (first.ip, first.vni, b.ip, b.vni)))
        return pings

    # --- report and status (report.py) ----------------------------------------------
    def _report(self, topo, rec, pings, seconds):
        report.up_report(self, topo, rec, pings, seconds)

    def status(self):
        """Print the lab's state; returns 0 healthy, 1 degraded, 3 no lab."""
        return report.status(self)

    # --- down ----------------------------------------------------------------------------
    def down(self, quiet=False):
        """Remove everything the record lists. Safe twice and after a partial up."""
        say = (lambda *a: None) if quiet else self.out
        rec = self.load()
        if rec is None:
            say('no lab in %s: nothing to remove' % self.state_dir)
            return 0
        stopped = 0
        reg = rec.get('registry') or {}
        if reg.get('pid') and procs.stop(reg['pid'], reg.get('started')):
            stopped += 1
        for n in rec['nodes']:
            ryu = n.get('ryu') or {}
            if ryu.get('pid') and procs.stop(ryu['pid'], ryu.get('started')):
                stopped += 1
        for n in rec['nodes']:
            ovs = self.ovs(n)
            if ovs.pids():
                stopped += len(ovs.pids())
                ovs.stop()
        present = report.namespaces()
        removed = []
        for name in reversed(rec['namespaces']):
            if name not in present:
                continue
            # Whatever still runs inside a namespace of ours belongs to the lab too.
            pids = shell.run(['ip', 'netns', 'pids', name], check=False).stdout.split()
            for pid in pids:
                procs.stop(int(pid))
                stopped += 1
            shell.run(['ip', 'netns', 'del', name])
            removed.append(name)
        for path in rec['paths']:
            if not statedir.inside(path, self.state_dir):   # the lab records none such
                say('kept %s: outside the state dir' % path)
            elif os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                os.unlink(path)
        os.unlink(self.record_path)
        left = statedir.remove(self.state_dir)
        say('lab down: stopped %d processes, removed %d namespaces (%s) and %s'
            % (stopped, len(removed), ', '.join(removed) or 'none',
               'the files of the lab in %s (kept it: it holds %s)'
               % (self.state_dir, ', '.join(left)) if left else self.state_dir))
        return 0
