"""Trace hops in our terms: each br-tun hop with its table's name and the flow it matched,
found among the flows the switch holds and printed in our text format (flows.text), with
outputs named by port. Pure.

``table 22 FLOOD_TO_TUN: dl_vlan=1 -> strip_vlan, set_tunnel:0x22, output to
vxlan-ac150c08 (172.21.12.8)``

OVS prints a hop as ``MATCH, priority N, cookie C`` with the match in the same syntax as
``ovs-ofctl dump-flows``, so (table, priority, match, cookie) finds the flow. A flow that
is gone by the time it is looked up (a learned one timing out) is shown as OVS printed it.
"""
import re

from ..flows import model as m
from ..flows import text
from ..model import TUNNEL_PREFIX, names_by_ofport, remote_ip_of_port
from ..pipeline import tables as t

IN_PORT = 0xfffffff8
_OUTPUT_RE = re.compile(r'^output:(\d+)$')


def table_title(table):
    name = t.NAMES.get(table)
    return 'table %d %s' % (table, name) if name else 'table %d' % table


class Ports:
    """br-tun's ports by ofport, named as an operator knows them."""

    def __init__(self, ports, patch_name, in_port):
        self.by_ofport = names_by_ofport(ports)
        self.patch_name, self.in_port = patch_name, in_port

    def view(self, ofport):
        name = self.by_ofport.get(ofport)
        return {'name': name, 'ofport': ofport,
                'remote_ip': remote_ip_of_port(name) if name else None,
                'towards': ('br-int' if name == self.patch_name
                            else 'tunnel' if (name or '').startswith(TUNNEL_PREFIX) else None)}

    def label(self, ofport):
        name = self.by_ofport.get(ofport)
        if name is None:
            return 'port %d' % ofport
        ip = remote_ip_of_port(name)
        if ip:
            return '%s (%s)' % (name, ip)
        if name == self.patch_name:
            return '%s (to br-int)' % name
        return name


def outputs(action_lines):
    """The ofports an action list sends to, in order: ``output:N`` and ``IN_PORT``."""
    found = []
    for line in action_lines:
        out = _OUTPUT_RE.match(line)
        if out:
            found.append(int(out.group(1)))
        elif line == 'IN_PORT':
            found.append(IN_PORT)
    return found


def _phrase(line, ports):
    """An action as printed (ours rendered by flows.text, or OVS's trace line), with an
    output's port named."""
    out = _OUTPUT_RE.match(line)
    if out:
        return 'output to %s' % ports.label(int(out.group(1)))
    if line == 'IN_PORT':
        return 'IN_PORT (back out %s)' % ports.label(ports.in_port)
    return line


def find_flow(hop, flows):
    """The flow (flows.model.Flow) among ``flows`` that ``hop`` matched, or None."""
    if not hop.matched:
        return None
    for flow in flows:
        if (flow.table == hop.table and flow.priority == hop.priority
                and flow.cookie == hop.cookie
                and text.match_text(flow.match, m.DEFAULT_PRIORITY) == hop.match):
            return flow
    return None


def kind_of(flow, learn_cookie, flow_cookie):
    if flow.cookie == learn_cookie:
        return 'learned'
    if flow.cookie == flow_cookie:
        return 'pipeline'
    return 'other'


def describe(hop, flows, ports, learn_cookie, flow_cookie):
    """One br-tun hop as a dict; ``text`` is the line the CLI prints."""
    title = table_title(hop.table)
    out = {'table': hop.table, 'table_name': t.NAMES.get(hop.table),
           'priority': hop.priority,
           'ovs_notes': [n for n in hop.notes if n.startswith('>>')],
           'cookie': None if hop.cookie is None else '%#x' % hop.cookie}
    if not hop.matched:
        out.update(kind=None, match=None, actions=['drop'], in_flow_dump=False,
                   text='%s: no flow matched -> drop' % title)
        return out
    flow = find_flow(hop, flows)
    if flow is not None:
        match = text.match_text(flow.match, flow.priority)
        actions = [_phrase(a, ports) for a in text.action_texts(flow.actions)] or ['drop']
        kind = kind_of(flow, learn_cookie, flow_cookie)
    else:   # gone since the trace, or printed in a way our model does not know
        prio = '' if hop.priority == m.DEFAULT_PRIORITY else 'priority=%d' % hop.priority
        match = ','.join(p for p in (prio, hop.match) if p)
        actions = [_phrase(line, ports) for line in hop.actions] or ['drop']
        kind = None
    label = '%s, %s flow' % (title, kind) if kind in ('learned', 'other') else title
    out.update(kind=kind, match=match, actions=actions, in_flow_dump=flow is not None,
               text='%s: %s -> %s' % (label, match or '(any)', ', '.join(actions)))
    return out


def other_bridge(hop):
    """A hop beyond br-tun (br-int's NORMAL, the underlay bridge), as OVS printed it."""
    notes = ''.join(' (%s)' % n.lstrip('-> ').rstrip() for n in hop.notes)
    return {'bridge': hop.bridge, 'table': hop.table, 'match': hop.match,
            'actions': list(hop.actions),
            'text': 'bridge %s table %d: %s%s' % (hop.bridge, hop.table,
                                                  ', '.join(hop.actions) or 'drop', notes)}
