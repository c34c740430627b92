"""Which connected switch is br-tun, which of its ports are tunnels, and what a sync of it
sends. Pure bookkeeping: the app feeds it switch events and tunnel health (BFD, by port
name) and sends what it returns."""
from dataclasses import dataclass, field
from typing import Dict, Optional

from ..flows.rows import Desired
from ..model import TUNNEL_PREFIX, tunnel_port_name
from ..pipeline import br_tun
from ..pipeline.sync import plan_sync
from ..tunnel_health import DOWN, UP


@dataclass
class SwitchView:
    dpid: int
    ports: Dict[str, int] = field(default_factory=dict)  # name -> ofport, once described
    described: bool = False
    synced: Optional[Desired] = None  # the flows the last sync of this connection left

    def tunnel_ports(self):
        return {n: no for n, no in self.ports.items() if n.startswith(TUNNEL_PREFIX)}


def plan_from(desired, installed, learn_cookie, learned, tunnel_ages, last_desired,
              matched=None):
    """Pure: the difference between the pipeline ``desired`` (br_tun.build_rows) and what
    is installed (read back, less the rows ``matched`` by their bytes)."""
    return plan_sync(desired, installed, learn_cookie, learned, tunnel_ages, last_desired,
                     matched)


def state_from(settings, patch_int_ofport, tunnel_ofports, intent, ports, down_tunnels):
    """Pure: br-tun's state for ``intent`` on a switch with ``ports`` ({name: ofport};
    None without l2population and the ARP responder, which alone use remote ports)."""
    return br_tun.BrTunState.of(settings, patch_int_ofport, tunnel_ofports, vpcs=intent.vpcs,
                                remote_ports=_routes(intent, ports),
                                down_tunnels=down_tunnels)


def _routes(intent, ports):
    """The intent's remote ports behind tunnels OVS has made (the others wait for their
    port, whose event syncs again)."""
    if ports is None:
        return ()
    ofports = {}
    for port in intent.remote_ports:
        if port.remote_ip not in ofports:
            ofports[port.remote_ip] = ports.get(tunnel_port_name(port.remote_ip))
    return tuple(br_tun.RemoteRoute(p.vni, p.mac, p.ip, ofports[p.remote_ip])
                 for p in intent.remote_ports if ofports[p.remote_ip] is not None)


class Controller:
    """The decisions for every switch of one node, given the settings and the intent.

    ``intent`` None means not known yet (the registry has not been read): br-tun is then
    left exactly as it is, never synced towards an empty intent.
    """

    def __init__(self, settings, intent=None):
        self.settings = settings
        self.intent = intent
        self.switches = {}  # dpid -> SwitchView
        self.health = {}    # tunnel port name -> 'up' | 'down' | 'no-bfd', as last read
        # Tunnels BFD has reported up at least once. Only these leave the flood lists when
        # down: a peer that never answered may be a dead VTEP or a node without BFD (an
        # older one, bfd_interval_ms = 0), and cutting the latter off would lose its
        # broadcasts silently; a copy sent to a dead VTEP costs only the copy.
        self.been_up = set()

    @property
    def _populated(self):
        """Whether other nodes' ports make flows here (l2population, the ARP responder)."""
        return self.settings.l2_population or self.settings.arp_responder

    # --- decisions -------------------------------------------------------------------
    def is_br_tun(self, dpid):
        view = self.switches.get(dpid)
        return bool(view and view.described and self.settings.patch_int_port in view.ports)

    def wants_sync(self, dpid):
        return self.intent is not None and self.is_br_tun(dpid)

    def br_tun_dpids(self):
        return sorted(d for d in self.switches if self.is_br_tun(d))

    # --- events ----------------------------------------------------------------------
    def connected(self, dpid):
        self.switches[dpid] = view = SwitchView(dpid)
        return view

    def disconnected(self, dpid):
        self.switches.pop(dpid, None)

    def described(self, dpid, ports):
        """The port description is in. Returns whether the switch needs a sync."""
        view = self.switches[dpid]
        view.ports, view.described = dict(ports), True
        return self.wants_sync(dpid)

    def port_changed(self, dpid, name, ofport):
        """A port was added, changed (``ofport``) or removed (None). Returns (before,
        whether the switch needs a sync)."""
        view = self.switches[dpid]
        before = view.ports.get(name)
        if ofport is None:
            view.ports.pop(name, None)
        else:
            view.ports[name] = ofport
        if before == ofport:
            return before, False
        return before, self.wants_sync(dpid)

    def set_intent(self, intent):
        """A new intent. Returns the br-tun dpids whose flows it changes (all of them on
        the first intent)."""
        before, self.intent = self.intent, intent
        if (before is not None and before.vpcs == intent.vpcs
                and (not self._populated or before.remote_ports == intent.remote_ports)):
            return []  # tunnels change flows only once OVS has made the ports
        return self.br_tun_dpids()

    def set_tunnel_health(self, health):
        """The tunnels' health read anew ({port name: health}). Returns the br-tun dpids
        whose flows it changes: with l2population a tunnel going down leaves the flood
        lists and one coming back returns; otherwise health changes no flow."""
        before = {d: self.down_ofports(self.switches[d]) for d in self.br_tun_dpids()}
        self.health = dict(health)
        self.been_up.update(name for name, state in self.health.items() if state == UP)
        return [d for d, down in before.items()
                if self.wants_sync(d) and self.down_ofports(self.switches[d]) != down]

    def down_ofports(self, view):
        """The ofports of ``view``'s tunnels that BFD reports down after having been up
        (none without l2population: the file's pipeline floods to every tunnel, as the
        article does)."""
        if not self.settings.l2_population:
            return ()
        return tuple(sorted(no for name, no in view.tunnel_ports().items()
                            if self.health.get(name) == DOWN and name in self.been_up))

    # --- flows -----------------------------------------------------------------------
    def state_of(self, dpid):
        return state_from(*self.state_inputs(dpid))

    def state_inputs(self, dpid):
        """What ``state_from`` needs, as values events will not change (the port map is
        copied): 50k remote ports make a state that takes a while to build, and a native
        thread can build it while the event loop goes on."""
        view = self.switches[dpid]
        return (self.settings, view.ports[self.settings.patch_int_port],
                tuple(view.tunnel_ports().values()), self.intent,
                dict(view.ports) if self._populated else None, self.down_ofports(view))

    def plan_sync(self, dpid, installed, learned=None, tunnel_ages=None):
        """What to send so the switch holds exactly the pipeline (installed: our flows).

        ``learned`` (learned flows) and ``tunnel_ages`` ({ofport: seconds}), read in that
        order, let the plan also drop MACs learned behind a reused ofport."""
        return plan_from(*self.plan_inputs(dpid, installed, learned, tunnel_ages))

    def plan_inputs(self, dpid, installed, learned=None, tunnel_ages=None, desired=None,
                    matched=None):
        """Everything ``plan_from`` needs, as immutable values: the plan can then be made
        away from the event loop (200k flows take seconds) while events change this core.
        ``desired``: br_tun.build_rows of ``state_of(dpid)`` when built beside the read;
        ``matched``: its rows the read found by their bytes (ofp.rows_read.resolve)."""
        if desired is None:
            desired = br_tun.build_rows(self.state_of(dpid))
        return (tuple(desired), tuple(installed), self.settings.learn_cookie,
                None if learned is None else tuple(learned), tunnel_ages,
                self.switches[dpid].synced, matched)

    def sync_done(self, dpid, plan):
        """The switch holds ``plan.desired`` now: later syncs call a difference drift."""
        view = self.switches.get(dpid)
        if view is not None:
            view.synced = plan.desired
