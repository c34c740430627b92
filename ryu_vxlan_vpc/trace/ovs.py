"""The two OVS commands a trace needs, run locally with argv lists and validated names:
``ovs-appctl -t SOCKET ofproto/trace BRIDGE FLOW`` and one ``ovs-vsctl`` read of a VM port.

ovs-vswitchd's control socket is found where OVS puts it, beside the OVSDB socket the app
already knows (``ovsdb_connection``): ``<rundir>/ovs-vswitchd.<pid>.ctl`` with the pid in
``<rundir>/ovs-vswitchd.pid``. With ``unix:/PATH`` the run directory is PATH's directory
(``/var/run/openvswitch`` on a node, ``<state>/<node>/ovs`` in the lab); with ``tcp:`` it
is ``$OVS_RUNDIR`` or ``/var/run/openvswitch``, as for OVS's own tools.
"""
import json
import os
import stat
from dataclasses import dataclass
from typing import Optional

from .. import shell

DEFAULT_RUNDIR = '/var/run/openvswitch'
TIMEOUT = 10


class OvsUnavailable(Exception):
    """ovs-vswitchd or OVSDB cannot be asked (REST: 503)."""


class NoSuchPort(Exception):
    """OVSDB has no port of that name (REST: 400)."""


def rundir_of(ovsdb_connection, environ):
    if ovsdb_connection.startswith('unix:'):
        return os.path.dirname(ovsdb_connection[len('unix:'):]) or '.'
    return environ.get('OVS_RUNDIR') or DEFAULT_RUNDIR


def vswitchd_socket(rundir):
    """The control socket of the ovs-vswitchd running from ``rundir``."""
    pidfile = os.path.join(rundir, 'ovs-vswitchd.pid')
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError) as exc:
        raise OvsUnavailable('ovs-vswitchd is not running from %s: cannot read %s (%s)'
                             % (rundir, pidfile, getattr(exc, 'strerror', None) or exc))
    path = os.path.join(rundir, 'ovs-vswitchd.%d.ctl' % pid)
    try:
        is_socket = stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        raise OvsUnavailable('ovs-vswitchd (pid %d in %s) has no control socket %s'
                             % (pid, pidfile, path))
    return path


def trace(socket, bridge, flow):
    """The text ``ofproto/trace`` prints for ``flow`` on ``bridge``."""
    argv = ['ovs-appctl', '-t', socket, '--timeout=%d' % TIMEOUT, 'ofproto/trace',
            bridge, flow]
    try:
        return shell.run(argv, timeout=TIMEOUT + 5).stdout
    except shell.CommandError as exc:
        raise OvsUnavailable('ovs-appctl ofproto/trace failed: %s'
                             % ' '.join((exc.stderr or '').split()))


@dataclass(frozen=True)
class VmPort:
    bridge: str
    tag: Optional[int]
    attached_mac: Optional[str]


def vm_port(ovsdb_connection, name):
    """Bridge, VLAN tag and attached MAC (Nova's ``external_ids:attached-mac``) of the
    OVSDB port ``name``: one ovs-vsctl transaction."""
    argv = ['ovs-vsctl', '--db=%s' % ovsdb_connection, '--timeout=%d' % TIMEOUT,
            '--', '--if-exists', 'get', 'Port', name, 'tag', '--',
            '--if-exists', 'get', 'Interface', name, 'external_ids:attached-mac', '--',
            'port-to-br', name]
    try:
        out = shell.run(argv, timeout=TIMEOUT + 5).stdout
    except shell.CommandError as exc:
        message = ' '.join((exc.stderr or '').split())
        if 'no port named' in message:
            raise NoSuchPort(name)
        raise OvsUnavailable('OVSDB %s: %s' % (ovsdb_connection, message))
    lines = [line.strip() for line in out.splitlines()]
    if len(lines) != 3:
        raise OvsUnavailable('OVSDB %s: unexpected answer about port %s: %r'
                             % (ovsdb_connection, name, out))
    tag, mac, bridge = lines
    return VmPort(bridge=bridge,
                  tag=int(tag) if tag.isdigit() else None,
                  attached_mac=json.loads(mac) if mac.startswith('"') else None)
