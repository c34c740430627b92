"""A private Open vSwitch (ovsdb-server + ovs-vswitchd) in its own directory and netns.

Several instances coexist on one machine: each keeps its database, sockets, pid and log
files in ``rundir`` and runs inside network namespace ``netns``. ``OVS_RUNDIR`` must be
set for ovs-vswitchd and for every ovs-vsctl/ovs-ofctl call aimed at the instance,
otherwise the bridges' ``.mgmt`` sockets of all instances collide in /var/run/openvswitch.
Used by the lab and by the tests; nothing here is specific to our pipeline.
"""
import contextlib
import os
import shutil
import tempfile
import uuid

from . import procs
from .shell import CommandError, run

SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'


class OvsInstance:
    def __init__(self, rundir, netns=None):
        self.rundir = os.path.abspath(rundir)
        self.netns = netns

    # --- addresses -----------------------------------------------------------------
    @property
    def db(self):
        return 'unix:%s/db.sock' % self.rundir

    @property
    def env(self):
        return {'OVS_RUNDIR': self.rundir, 'OVS_DBDIR': self.rundir,
                'OVS_LOGDIR': self.rundir, 'OVS_SYSCONFDIR': self.rundir}

    def mgmt(self, bridge):
        """ovs-ofctl's address of ``bridge`` on this instance."""
        return 'unix:%s/%s.mgmt' % (self.rundir, bridge)

    def _path(self, name):
        return os.path.join(self.rundir, name)

    # --- lifecycle -----------------------------------------------------------------
    def start(self):
        """Create the database if needed and start both daemons (no-op when running)."""
        os.makedirs(self.rundir, exist_ok=True)
        if self.running():
            return self
        if not os.path.exists(self._path('conf.db')):
            run(['ovsdb-tool', 'create', self._path('conf.db'), SCHEMA])
        # No --unixctl: each daemon makes its control socket under OVS_RUNDIR with OVS's
        # default name (<daemon>.<pid>.ctl) next to its default pidfile, which is how
        # ovs-appctl finds its target. So a plain `ovs-appctl dpif/show` (or `-t
        # ovsdb-server`) with OVS_RUNDIR set reaches this instance, as ovs-vsctl and
        # ovs-ofctl do -- inside `lab exec` too, with no -t to add by hand.
        run(['ovsdb-server', self._path('conf.db'), '--remote=punix:%s' % self._path('db.sock'),
             '--pidfile=%s' % self._path('ovsdb-server.pid'),
             '--log-file=%s' % self._path('ovsdb-server.log'), '--detach'],
            netns=self.netns, env=self.env)
        self.vsctl('--no-wait', 'init')
        run(['ovs-vswitchd', self.db, '--pidfile=%s' % self._path('ovs-vswitchd.pid'),
             '--log-file=%s' % self._path('ovs-vswitchd.log'), '--detach'],
            netns=self.netns, env=self.env)
        return self

    def pids(self):
        """{daemon: pid} of this instance's running daemons.

        A pid is only believed when that process was started with this instance's pidfile:
        a stale pidfile whose pid the kernel gave to another process names nothing.
        """
        pids = {}
        for daemon in ('ovsdb-server', 'ovs-vswitchd'):
            pidfile = self._path(daemon + '.pid')
            try:
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    argv = f.read().split(b'\0')
            except (OSError, ValueError):
                continue
            if ('--pidfile=%s' % pidfile).encode() in argv and procs.alive(pid):
                pids[daemon] = pid
        return pids

    def running(self):
        return len(self.pids()) == 2

    def stop(self, timeout=5.0):
        """Stop both daemons; SIGKILL whatever has not exited within ``timeout``."""
        return procs.stop_all([(pid, None) for pid in self.pids().values()], timeout)

    # --- tools ---------------------------------------------------------------------
    def vsctl(self, *args, timeout=30):
        return run(['ovs-vsctl', '--db=' + self.db, '--timeout=%d' % timeout] + list(args),
                   netns=self.netns, env=self.env, timeout=timeout + 5).stdout

    def ofctl(self, cmd, bridge, *args, protocol=None, timeout=60):
        argv = ['ovs-ofctl'] + (['-O', protocol] if protocol else [])
        return run(argv + [cmd, self.mgmt(bridge)] + list(args), netns=self.netns,
                   env=self.env, timeout=timeout).stdout

    def appctl(self, *args):
        """``ovs-appctl ARGS`` to this instance's ovs-vswitchd: its default target, found
        through OVS_RUNDIR exactly as a user's plain ovs-appctl in ``lab exec`` finds it."""
        return run(['ovs-appctl'] + list(args), netns=self.netns, env=self.env).stdout

    def ofport(self, port, timeout=10.0):
        """The OpenFlow port number OVS gave ``port``, waiting until it has one."""
        def assigned():
            try:
                value = self.vsctl('get', 'Interface', port, 'ofport').strip()
            except CommandError:
                return None
            return int(value) if value.lstrip('-').isdigit() and int(value) > 0 else None
        ofport = procs.poll(assigned, timeout, interval=0.1)
        if ofport is None:
            raise TimeoutError('port %s has no ofport after %ss' % (port, timeout))
        return ofport


@contextlib.contextmanager
def private_ovs(prefix):
    """A fresh network namespace (lo up) with an OVS of its own, removed on exit.

    Yields (OvsInstance, work directory). The tests' `node` fixture and the benchmarks use it.
    """
    netns = '%s-%s' % (prefix, uuid.uuid4().hex[:6])
    workdir = tempfile.mkdtemp(prefix='ryu-vxlan-vpc-%s-' % prefix)
    ovs = OvsInstance(os.path.join(workdir, 'ovs'), netns)
    run(['ip', 'netns', 'add', netns])
    try:
        run(['ip', 'link', 'set', 'lo', 'up'], netns=netns)
        ovs.start()
        yield ovs, workdir
    finally:
        ovs.stop()
        run(['ip', 'netns', 'del', netns], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
