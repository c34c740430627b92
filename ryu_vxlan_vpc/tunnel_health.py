"""Tunnel health from OVS's BFD sessions, as plain data. No Ryu, no I/O.

Our tunnels carry ``bfd:enable=true`` (``bootstrap.plan.tunnel_bfd``) and ovs-vswitchd
reports each session in the Interface's ``bfd_status`` column (ovs-vswitchd.conf.db(5)):
``state`` is the local session's state (admin_down, down, init, up) and ``forwarding``
"whether the BFD session believes this Interface may be used to forward traffic":
locally up *and* the remote end not signalling a problem. Whether traffic sent into the
tunnel arrives is what a flood list cares about, so a tunnel is ``up`` exactly when
``forwarding`` is true, ``down`` when it is false (a session still negotiating, ``init``,
is down too: nothing has been heard back yet) and ``no-bfd`` when BFD is not enabled on
it (OVS then clears ``bfd_status``). A tunnel with BFD enabled that ovs-vswitchd has not
reported on yet has no health: it is left out, never guessed.
"""
import json
from dataclasses import dataclass
from typing import Optional, Tuple

from .model import TUNNEL_PREFIX

UP, DOWN, NO_BFD = 'up', 'down', 'no-bfd'
UNKNOWN = 'unknown'        # what the REST views say for a tunnel not read yet
COLUMNS = ('name', 'type', 'options', 'bfd', 'bfd_status')


@dataclass(frozen=True)
class TunnelBfd:
    """One tunnel interface as OVSDB shows it: its BFD configuration and status."""
    name: str
    remote_ip: Optional[str]
    bfd: Tuple[Tuple[str, str], ...] = ()
    status: Tuple[Tuple[str, str], ...] = ()

    @property
    def health(self):
        return health_of(dict(self.bfd), dict(self.status))

    @property
    def diagnostic(self):
        """OVS's reason for the last change of state (e.g. 'Control Detection Time
        Expired'), or None."""
        return dict(self.status).get('diagnostic')


def health_of(bfd, status):
    """'up', 'down' or 'no-bfd' from an Interface's ``bfd`` and ``bfd_status`` maps, or
    None while BFD is enabled but not reported on."""
    if bfd.get('enable') != 'true':
        return NO_BFD
    forwarding = status.get('forwarding')
    if forwarding is None:
        return None
    return UP if forwarding == 'true' else DOWN


def read_args():
    """The ovs-vsctl arguments (after the database option) that list every VXLAN interface
    with the columns ``parse`` reads: one small table, one call."""
    return ('--format=json', '--columns=' + ','.join(COLUMNS), 'find', 'Interface',
            'type=vxlan')


def parse(text):
    """{port name: TunnelBfd} of the tunnels (``vxlan-*``) in ``read_args``'s output."""
    doc = json.loads(text)
    heads = doc['headings']
    tunnels = {}
    for row in doc['data']:
        cells = dict(zip(heads, row))
        name = cells.get('name')
        if not isinstance(name, str) or not name.startswith(TUNNEL_PREFIX):
            continue
        options = _map(cells.get('options'))
        tunnels[name] = TunnelBfd(name, options.get('remote_ip'),
                                  tuple(sorted(_map(cells.get('bfd')).items())),
                                  tuple(sorted(_map(cells.get('bfd_status')).items())))
    return tunnels


def _map(cell):
    """An OVSDB map in JSON (``["map", [[k, v], ...]]``) as a dict of strings."""
    if isinstance(cell, list) and len(cell) == 2 and cell[0] == 'map':
        return {str(k): str(v) for k, v in cell[1]}
    return {}


def health_map(tunnels):
    """{port name: 'up' | 'down' | 'no-bfd'} of the tunnels whose health is known."""
    return {name: t.health for name, t in tunnels.items() if t.health is not None}


def changes(before, after):
    """One line per tunnel whose health differs between two readings (``parse``
    results), naming it, its remote VTEP, old -> new and OVS's diagnostic."""
    lines = []
    for name in sorted(set(before) | set(after)):
        old = before[name].health if name in before else None
        new = after[name].health if name in after else None
        if old == new:
            continue
        tunnel = after.get(name) or before[name]
        why = tunnel.diagnostic if new == DOWN and tunnel.diagnostic else None
        lines.append('tunnel %s to %s: %s -> %s%s' % (
            name, tunnel.remote_ip or '?', old or UNKNOWN,
            new or ('gone' if name not in after else UNKNOWN),
            ' (%s)' % why if why else ''))
    return lines
