"""The node's OVSDB side, as Neutron's OVS agent does it: tunnel ports and VM port tags.

An I/O shell around ``core.ports`` (what to change) and ``core.intent`` (the intent from
the registry). In registry mode it:
1. reads OVSDB once, for the VNI -> local VLAN mapping the VM ports recorded there
   (so a restart keeps every VLAN, and with an unchanged registry changes nothing);
2. follows the registry (``registry.follow.Follower``): each fleet snapshot becomes an
   intent, handed to the app (flows) and applied here (ports);
3. looks at OVSDB again on every intent change and every ``ovsdb_poll_interval``, so a VM
   port that shows up after its record is bound at once, and one without a record is
   parked on the dead VLAN.
While etcd is unreachable the last intent stays applied: nothing is changed.

In both modes it also reads our tunnels' BFD status every ``HEALTH_INTERVAL`` (the pure
part is ``tunnel_health``) and tells the app when a tunnel's health changes.
"""
import logging
import time

from ryu.lib import hub

from . import bigjobs, malloc, shell, tunnel_health
from .bootstrap.execute import read_ovs
from .config import one_line
from .bootstrap.plan import Target
from .core import intent as intents
from .core.ports import recovered_vlans, tunnel_changes, vm_port_changes

LOG = logging.getLogger('ryu_vxlan_vpc.ports')
RETRY_DELAYS = (0.5, 1, 2, 5, 10)
VSCTL_TIMEOUT = 30
WATCH_IDLE = 1.0   # seconds of a quiet watch stream before it is re-opened
HEALTH_INTERVAL = 1.0  # seconds between two readings of the tunnels' BFD status
HEALTH_TIMEOUT = 5     # seconds ovs-vsctl may take to answer one
LOGGED_CHANGES = 20    # health changes of one reading logged one by one; then a count


class PortsAgent:
    def __init__(self, settings, on_intent):
        self.settings = settings
        self.on_intent = on_intent    # called with each new Intent (the app syncs flows)
        self.intent = None
        self.vlans = None             # {vni: local VLAN}, once read from OVSDB
        self.wake = hub.Event()
        self.last_error = None
        self.notes = set()
        self.applied = 0              # ovs-vsctl transactions run
        # The registry's last snapshot (registry.records.Fleet) and its etcd revision, for
        # the fleet view: the whole fleet, not only what this node's intent takes from it.
        self.fleet = None
        self.fleet_revision = None
        self.tunnels = {}             # port name -> tunnel_health.TunnelBfd, last reading
        self.health_error = None
        self.follower = None          # registry.follow.Follower, once the registry is followed

    @property
    def registry_connected(self):
        """None without a registry (or before it is followed), else whether the follower's
        last read or watch of etcd worked (for metrics)."""
        return None if self.follower is None else self.follower.connected

    @property
    def target(self):
        return Target.make(db=self.settings.ovsdb_connection)

    # --- registry mode -------------------------------------------------------------------
    def run_registry(self):
        from .registry.etcd import Registry
        from .registry.follow import Follower
        self.vlans = recovered_vlans(self._read_ports_until_ok(), self.settings.int_bridge)
        LOG.info('local VLANs recorded in OVSDB: %s', ', '.join(
            '%#x->%d' % kv for kv in sorted(self.vlans.items())) or 'none')
        hub.spawn(self._poll_loop)
        # watch_idle bounds how long the last batch of a burst waits (registry.follow).
        registry = Registry(','.join(self.settings.etcd_endpoints), self.settings.registry_prefix,
                            watch_idle=WATCH_IDLE)
        self.follower = Follower(registry, self.settings.registry_prefix, self.on_fleet, LOG,
                                 offload=bigjobs.run)
        self.follower.run(lambda: False)

    def on_fleet(self, fleet, revision=None):
        self.fleet, self.fleet_revision = fleet, revision
        # A native thread: at 100k ports this takes a while (see registry.follow), and so
        # does comparing two intents of 50k remote ports.
        intent, notes, change = bigjobs.run(
            _intent_and_change, fleet, self.settings.node_name, self.settings.local_ip,
            dict(self.vlans or {}), self.intent)
        for note in set(notes) - self.notes:
            LOG.warning('registry: %s', note)
        self.notes = set(notes)
        if change is None:
            return
        LOG.info('registry (revision %s): %s', revision, change)
        self.intent = intent
        self.vlans = {v.vni: v.local_vlan for v in intent.vpcs}
        self.on_intent(intent)
        malloc.trim()   # the intents compared and the fleet replaced: see malloc.py
        self.wake.set()

    def _poll_loop(self):
        while True:
            self.wake.wait(timeout=self.settings.ovsdb_poll_interval)
            self.wake.clear()
            if self.intent is not None:
                self.reconcile(self.intent)

    def reconcile(self, intent, vm_ports=True):
        """One look at OVSDB and one ovs-vsctl transaction for what differs."""
        try:
            _, ports = read_ovs(self.target)
            changes = tunnel_changes(self.settings, intent, ports, self.target)
            if vm_ports:
                changes += vm_port_changes(self.settings, intent, ports)
            if changes:
                argv = list(self.target.vsctl('--timeout=%d' % VSCTL_TIMEOUT))
                for change in changes:
                    argv += ['--'] + list(change.args)
                shell.run(argv, timeout=VSCTL_TIMEOUT + 5)
                self.applied += 1
                for change in changes:
                    LOG.info('OVSDB: %s', change.what)
        except (shell.CommandError, ValueError) as exc:
            if str(exc) != self.last_error:
                LOG.error('OVSDB %s: %s; retrying', self.settings.ovsdb_connection, exc)
            self.last_error = str(exc)
            return False
        if self.last_error is not None:
            LOG.info('OVSDB %s: reachable again', self.settings.ovsdb_connection)
            self.last_error = None
        return True

    def _read_ports_until_ok(self):
        failures = 0
        while True:
            try:
                return read_ovs(self.target)[1]
            except (shell.CommandError, ValueError) as exc:
                if failures == 0:
                    LOG.error('OVSDB %s unreadable (%s); the registry is not followed until it '
                              'is', self.settings.ovsdb_connection, exc)
                time.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1

    # --- tunnel health (both modes) -------------------------------------------------------
    def run_health(self, on_change, interval=HEALTH_INTERVAL):
        """Read the tunnels' BFD status forever; ``on_change({name: health})`` after each
        reading that changed a tunnel's health. ovs-vsctl runs as a green subprocess (the
        event loop goes on meanwhile) and its answer is one small JSON table."""
        while True:
            self.read_health(on_change)
            hub.sleep(interval)

    def read_health(self, on_change):
        argv = list(self.target.vsctl('--timeout=%d' % HEALTH_TIMEOUT,
                                      *tunnel_health.read_args()))
        try:
            tunnels = tunnel_health.parse(shell.run(argv, timeout=HEALTH_TIMEOUT + 2).stdout)
        except Exception as exc:  # ovs-vsctl failed, odd output, or no fork (EMFILE, ENOMEM):
            # the loop must live on, or health would freeze as it was.
            if str(exc) != self.health_error:
                LOG.error('OVSDB %s: cannot read the tunnels\' BFD status (%s); their health '
                          'is unknown until it can', self.settings.ovsdb_connection,
                          one_line(exc))
            self.health_error = str(exc)
            # Unknown, not the last reading: a stale "down" would keep a tunnel out of the
            # flood lists (and a stale "up" lie to REST and metrics).
            changed, self.tunnels = bool(self.tunnels), {}
            if changed:
                self._health_changed(on_change)
            return
        if self.health_error is not None:
            LOG.info('OVSDB %s: tunnels\' BFD status readable again',
                     self.settings.ovsdb_connection)
            self.health_error = None
        before, self.tunnels = self.tunnels, tunnels
        lines = tunnel_health.changes(before, tunnels)
        for i, line in enumerate(lines):
            LOG.log(logging.INFO if i < LOGGED_CHANGES else logging.DEBUG, '%s', line)
        if len(lines) > LOGGED_CHANGES:
            LOG.info('... and %d more tunnel health changes (logged at debug level)',
                     len(lines) - LOGGED_CHANGES)
        if lines:
            self._health_changed(on_change)

    def _health_changed(self, on_change):
        try:
            on_change(tunnel_health.health_map(self.tunnels))
        except Exception:  # the readings go on; the next change tries again
            LOG.exception('applying the tunnels\' health failed')

    # --- file mode -----------------------------------------------------------------------
    def apply_tunnels(self, intent):
        """SIGHUP: create the tunnels new remote_ips need, remove ours that left."""
        return self.reconcile(intent, vm_ports=False)


def _intent_and_change(fleet, node_name, local_ip, vlans, previous):
    """(intent, notes, the line saying what changed from ``previous``, or None if
    nothing did)."""
    intent, notes = intents.from_fleet(fleet, node_name, local_ip, vlans)
    if intent == previous:
        return previous, notes, None
    return intent, notes, intents.describe_change(previous, intent)
