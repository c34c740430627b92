"""After bootstrap: read back what ovs-vswitchd made of the plan, and name each failure.

ovs-vsctl succeeds once the database holds the rows. Whether ovs-vswitchd could then make a
bridge and open an interface shows only afterwards, in the Interface rows: ``ofport`` (-1
when it failed) and ``error`` (its own words). A bridge whose datapath cannot be opened at
all (``datapath_type=system`` without the openvswitch kernel module) leaves no error in the
database: the bridge gets no ``datapath_id``, none of its interfaces an ofport, and the
reason goes to ovs-vswitchd's log only. Without this check bootstrap reported success and
the app then waited forever for ports that never came.
"""
import re
from dataclasses import dataclass
from typing import Optional

from .. import procs, shell
from .execute import read_ovs

SYNC_TIMEOUT = 10      # s for ovs-vswitchd to catch up with the database (cur_cfg)
SETTLE_TIMEOUT = 5.0   # s more for an ofport on a bridge it did make (normally not needed)
SETTLE_INTERVAL = 0.2
# ovs-dpctl's own log lines: "2024-01-01T00:00:00Z|00001|dpif_netlink|INFO|text"
_LOG_PREFIX = re.compile(r'^\S+\|\d+\|\w+\|\w+\|')


class NotApplied(RuntimeError):
    """ovs-vswitchd did not catch up with the database: nothing can be read back."""


@dataclass(frozen=True)
class Failure:
    subject: str                          # 'bridge br-tun', 'VM port qvo123 on br-int'
    text: str                             # OVS's error, or what we saw instead
    datapath_type: Optional[str] = None   # set when the bridge itself was not made

    def line(self):
        return '%s: %s' % (self.subject, self.text)


def _subject(expect):
    if expect.role == 'bridge':
        return 'bridge ' + expect.name
    return '%s %s on %s' % (expect.role, expect.name, expect.bridge)


def check(expected, bridges, ports):
    """Pure: (failures, pending) of the ``expected`` interfaces (``Plan.interfaces``) in an
    observed OVS. Pending: no ofport yet, on a bridge ovs-vswitchd did make."""
    failed, pending = [], []
    by_bridge = {}
    for expect in expected:
        by_bridge.setdefault(expect.bridge, []).append(expect)
    for bridge, wanted in by_bridge.items():
        b = bridges.get(bridge)
        if b is None:
            failed.append(Failure('bridge ' + bridge, 'not in the OVS database'))
            continue
        if b.datapath_id is None:
            dp_type = b.datapath_type or 'system'   # '' is OVS's default, system
            failed.append(Failure(
                'bridge ' + bridge, 'ovs-vswitchd did not create it (datapath_type %s), so %s '
                'have no OpenFlow port' % (dp_type, ', '.join(e.name for e in wanted)), dp_type))
            continue
        for expect in wanted:
            port, subject = ports.get(expect.name), _subject(expect)
            if port is None:
                failed.append(Failure(subject, 'not in the OVS database'))
            elif port.bridge != bridge:
                failed.append(Failure(subject, 'it is on %s' % port.bridge))
            elif port.error:
                failed.append(Failure(subject, port.error))
            elif port.ofport is not None and port.ofport <= 0:
                failed.append(Failure(subject, 'ovs-vswitchd could not add it (ofport %d, no '
                                               'error given)' % port.ofport))
            elif port.ofport is None:
                pending.append(Failure(subject, 'no OpenFlow port after %.0f s'
                                       % (SYNC_TIMEOUT + SETTLE_TIMEOUT)))
    return failed, pending


def read_back(plan, target, run=shell.run, settle=SETTLE_TIMEOUT):
    """The failures among ``plan.interfaces`` on the target's OVS, once ovs-vswitchd has
    caught up with the database (raises NotApplied when it does not)."""
    try:
        # The plan's ovs-vsctl calls (no --no-wait) already waited for ovs-vswitchd to
        # reconfigure; this also covers a run where none ran, or a change made meanwhile:
        # ovs-vswitchd has applied the database as it is now once cur_cfg reaches next_cfg.
        next_cfg = run(list(target.vsctl('--timeout=%d' % SYNC_TIMEOUT, 'get', 'Open_vSwitch',
                                         '.', 'next_cfg')), timeout=SYNC_TIMEOUT + 5).stdout
        run(list(target.vsctl('--timeout=%d' % SYNC_TIMEOUT, 'wait-until', 'Open_vSwitch', '.',
                              'cur_cfg>=%d' % int(next_cfg))), timeout=SYNC_TIMEOUT + 5)
    except (shell.CommandError, ValueError) as exc:
        raise NotApplied('ovs-vswitchd did not apply the database within %d s (is it '
                         'running?): %s' % (SYNC_TIMEOUT, exc)) from None
    last = []

    def settled():
        last[:] = [check(plan.interfaces, *read_ovs(target, run))]
        return not last[0][1]
    procs.poll(settled, settle, SETTLE_INTERVAL)
    failed, pending = last[0]
    return failed + pending


def probe_system_datapath(target, run=shell.run):
    """(opens, what OVS says) for the kernel datapath, from ``ovs-dpctl dump-dps`` in the
    node's namespace: the same dpif-netlink open ovs-vswitchd attempts, without its log.
    (None, '') when that cannot tell: an OVS reached over TCP may be on another host."""
    if target.db and not target.db.startswith('unix:'):
        return None, ''
    try:
        proc = run(shell.in_netns(target.netns, ['ovs-dpctl', 'dump-dps']), check=False)
    except shell.CommandError:   # ovs-dpctl not installed
        return None, ''
    said = [_LOG_PREFIX.sub('', line).strip() for line in proc.stderr.splitlines()]
    return proc.returncode == 0, ' / '.join(line for line in said if line)


def report(failed, verb, config_file, probe):
    """The lines that explain ``failed`` (from read_back); ``probe``: probe_system_datapath's
    answer, or None when no bridge of datapath_type system failed."""
    lines = ['ryu-vxlan-vpc %s: ovs-vswitchd could not make all that %s asked for (%d %s):'
             % (verb, config_file, len(failed), 'failure' if len(failed) == 1 else 'failures')]
    lines += ['  ' + f.line() for f in failed]
    if probe is not None:
        opens, said = probe
        if said:
            lines.append('  datapath type system: ovs-dpctl dump-dps says: ' + said)
        if not opens:
            lines.append('hint: datapath_type = system needs the openvswitch kernel module; '
                         'where the kernel has none, set datapath_type = netdev in [vxlan_vpc] '
                         'of %s (the userspace datapath) and run %s again'
                         % (config_file, verb))
        else:
            lines.append('  the kernel datapath opens: see ovs-vswitchd\'s log for why')
    lines.append('The OVS database keeps what %s wrote: fix the cause and run %s again (it '
                 'changes only what is missing), or teardown to remove it.' % (verb, verb))
    return lines


def explain(failed, target, verb, config_file, run=shell.run):
    """report() of ``failed``, probing the kernel datapath when a system bridge failed."""
    probe = None
    if any(f.datapath_type == 'system' for f in failed):
        probe = probe_system_datapath(target, run)
    return report(failed, verb, config_file, probe)
