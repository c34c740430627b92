"""``ovs-appctl ofproto/trace`` output (OVS 3.x) as data: the flow, each table hop per
bridge, and the datapath actions. Pure.

The format, as OVS 3.1 prints it (tests/unit/data/trace_*.txt are real captures)::

    Flow: in_port=1,dl_vlan=1,...

    bridge("br-tun")
    ----------------
     0. in_port=1, priority 1, cookie 0x79
        resubmit(,2)
    22. dl_vlan=1, priority 32768, cookie 0x79
        pop_vlan
        output:2
         -> output to native tunnel

        bridge("br-phy")              <- a nested bridge: the tunnel's underlay; skipped
        ----------------
             0. priority 0 ...
        output:3                      <- back in br-tun's hop 22

    Final flow: ...
    Datapath actions: ...

A hop is ``TABLE. MATCH, priority N, cookie C`` (MATCH may be empty) or ``TABLE. No
match.``; its action lines follow, indented deeper, with notes (``->``, ``>>``) below them.
"""
import re
from dataclasses import dataclass, field
from typing import Optional, Tuple

_BRIDGE_RE = re.compile(r'^(\s*)bridge\("([^"]+)"\)$')
_HOP_RE = re.compile(r'^(\s*)(\d+)\. (.*)$')
_RULE_RE = re.compile(r'^(?:(?P<match>.*), )?priority (?P<prio>\d+)'
                      r'(?:, cookie (?P<cookie>0x[0-9a-f]+))?$')


class TraceFormatError(ValueError):
    """The text is not ofproto/trace output this parser understands."""


@dataclass
class Hop:
    bridge: str
    table: int
    match: Optional[str]          # as OVS printed it; None: no flow matched
    priority: Optional[int] = None
    cookie: Optional[int] = None
    actions: Tuple[str, ...] = ()  # one action per line, as OVS printed them
    notes: Tuple[str, ...] = ()    # OVS's remarks on them ("-> output to native tunnel")

    @property
    def matched(self):
        return self.match is not None


@dataclass
class Trace:
    flow: str
    hops: list = field(default_factory=list)
    final_flow: Optional[str] = None
    datapath_actions: Optional[str] = None

    def bridge_hops(self, bridge):
        return [h for h in self.hops if h.bridge == bridge]


def _indent(line):
    return len(line) - len(line.lstrip(' '))


def _hop(bridge, table, rest):
    if rest == 'No match.':
        return Hop(bridge, table, None)
    m = _RULE_RE.match(rest)
    if not m:
        raise TraceFormatError('table %d: cannot read the rule %r' % (table, rest))
    cookie = m.group('cookie')
    return Hop(bridge, table, m.group('match') or '', int(m.group('prio')),
               int(cookie, 16) if cookie is not None else None)


def parse(text):
    """Trace of ``text``; TraceFormatError when it has no ``Flow:`` line or no bridge."""
    trace, bridge, hop, skip_below = None, None, None, None
    for line in text.splitlines():
        if not line.strip() or set(line.strip()) == {'-'}:
            continue
        indent = _indent(line)
        if skip_below is not None:
            if indent > skip_below:
                continue   # inside a nested bridge (a tunnel's underlay bridge)
            skip_below = None
        if indent == 0:
            hop = None
            key, _, value = line.partition(': ')
            if key == 'Flow' and trace is None:
                trace = Trace(flow=value)
            elif key == 'Final flow' and trace is not None:
                trace.final_flow = value
            elif key == 'Datapath actions' and trace is not None:
                trace.datapath_actions = value
        if trace is None:
            continue
        m = _BRIDGE_RE.match(line)
        if m:
            if m.group(1):
                skip_below = indent
            else:
                bridge, hop = m.group(2), None
            continue
        m = _HOP_RE.match(line)
        if m and bridge is not None and indent < 4:
            hop = _hop(bridge, int(m.group(2)), m.group(3))
            trace.hops.append(hop)
            continue
        if hop is not None and indent >= 4:
            stripped = line.strip()
            if stripped.startswith(('->', '>>')):
                hop.notes += (stripped,)
            else:
                hop.actions += (stripped,)
    if trace is None or not trace.hops:
        raise TraceFormatError('no "Flow:" line or no table hop in the trace output')
    return trace
