"""Which learned flows of table 20 lead to the wrong tunnel, from what the switch says now.

A learned flow names its tunnel only by ofport (``output:N``), and OVS hands a freed
ofport to the next port it creates. So after a tunnel is removed and another one takes
its number (while the controller was down, or between two port events of one sync), the
table-0 flows look the same as before, yet the MACs learned behind the old tunnel would
send a tenant's frames to another VTEP.

OVS tells how long each flow and each port has existed: OpenFlow 1.3 flow stats and port
stats both carry a duration, and a learned flow that learn() refreshes keeps its creation
time (checked on OVS 3.1). A flow is learned from a packet that came in on its port, so
a valid learned flow is always younger than the port it outputs to. A learned flow that
is older than its port was learned behind an earlier port with the same number: stale.
One that outputs to a port that is not a tunnel now is stale as well.

The ages must be read flows first and ports second: a valid flow then always looks
younger than its port, however long the two requests took.

One valid flow can look stale: a MAC that moves to a tunnel newer than its learned flow is
re-learned by a modify, which keeps the creation time. Deleting it costs one flood until
the next frame from that MAC learns it again; keeping a flow that leads to the wrong VTEP
would cost a tenant's frames.
"""
from typing import Dict, Iterable, Tuple

from ..flows.mods import DeleteStrict
from ..flows.model import FlowStats, Output


def output_port(flow):
    """The port a learned flow sends to (its last output), or None."""
    ports = [a.port for a in flow.actions if isinstance(a, Output)]
    return ports[-1] if ports else None


def stale_learned_flows(learned: Iterable[FlowStats],
                        tunnel_ages: Dict[int, float]) -> Tuple[DeleteStrict, ...]:
    """``learned``: the learned flows (read first); ``tunnel_ages``: {ofport: seconds the
    tunnel port has existed} of the current tunnels (read second). Returns one exact
    delete per learned flow that outputs to no current tunnel or is older than its port."""
    stale = []
    for stats in learned:
        port = output_port(stats.flow)
        age = tunnel_ages.get(port)
        if age is None or stats.duration > age:
            stale.append(DeleteStrict(stats.flow))
    return tuple(stale)
