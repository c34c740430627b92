"""Prometheus metrics of the overlay (issue 13): what they read and how they are built.

Ryu-free. ``Metrics`` owns its own CollectorRegistry (never prometheus_client's global
one) holding one custom collector, which reads the app only through ``AppView``: the few
facts metrics need, nothing of the app's internals. Tests hand it a fake view.

Rules, and why:
- Every value is read from the switch (a flow-stats request) or from the app's own count
  of its syncs. What is not known is absent, never 0 or a guess: no flow counts for a
  switch that is gone or did not answer, no tunnel_up for a tunnel without BFD, no
  registry_connected without a registry.
- A scrape does not dump the flows every time. One dump of all of br-tun's flows gives both
  the flow counts per table and the learned MACs; it is kept for ``FLOW_CACHE_SECONDS``, or
  ``FLOW_CACHE_PER_DUMP_SECOND`` times as long as the dump took if that is longer (a
  200k-flow br-tun takes ~10 s to dump: its counts are then up to 100 s old, and scrapes
  spend at most a tenth of the time dumping). Concurrent scrapes share one dump.
- "Known" switches are the br-tun dpids this process has seen since it started (at a
  scrape, or through a sync): switch_connected is 1 for those connected now and 0 for the
  others. A datapath that never was br-tun (br-int, say) is not ours to report.
- Counters (syncs, repaired flows) are the app's own, per OpenFlow connection: they start
  again at 0 when a switch reconnects, which Prometheus' rate() and increase() read as a
  counter reset.
- A VNI label is hex as the rest of the API prints it (``0x22``); a dpid label is the API's
  16 hex digits.
"""
import collections
import itertools
import logging
import threading
import time

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .model import remote_ip_of_port
from .pipeline import tables
from .rest.params import dpid_text
from .rest.views import learned_mac

LOG = logging.getLogger('ryu_vxlan_vpc.metrics')

NAME = 'ryu_vxlan_vpc_'
FLOW_CACHE_SECONDS = 5.0
FLOW_CACHE_PER_DUMP_SECOND = 10
# Seconds of one successful sync: 13 flows take a few milliseconds, 200k flows about 10 s.
SYNC_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0, 20.0, 40.0)
TUNNEL_STATES = {'up': 1, 'down': 0}   # any other state ('no-bfd') has no value

SwitchFacts = collections.namedtuple('SwitchFacts', 'dpid syncs repaired tunnel_ports')
Reading = collections.namedtuple('Reading', 'tables learned seconds')


class AppView:
    """What metrics read of the app, through its public surface; nothing else."""

    def __init__(self, app):
        self._app = app

    @property
    def settings(self):
        return self._app.settings

    def switches(self):
        """The connected br-tun switches, as SwitchFacts (copies: a snapshot)."""
        return [SwitchFacts(sw.dpid, dict(sw.syncs), sw.repaired, dict(sw.tunnel_ports()))
                for sw in self._app.br_tun_switches()]

    def dump_flows(self, dpid):
        """Every flow of the switch (a green blocking flow-stats request), as the reply
        parts arrive: counted on the way, never all held at once."""
        return itertools.chain.from_iterable(self._app.stream_flows(dpid))

    def vnis(self):
        """This node's VNIs now (none while the registry has not been read)."""
        intent = self._app.intent
        return [vpc.vni for vpc in intent.vpcs] if intent is not None else []

    def registry_connected(self):
        """True/False with the registry (its follower's last read or watch), else None."""
        return self._app.ports_agent.registry_connected

    def tunnel_health(self):
        """{tunnel port name: 'up'|'down'|'no-bfd'} of the tunnels whose health is known."""
        return self._app.tunnel_health()


class FlowReadings:
    """Per dpid: flows per table and learned MACs per VNI from one dump, kept a while."""

    def __init__(self, view, clock=time.monotonic, lock=threading.Lock):
        self.view = view
        self.clock = clock
        self.lock = lock            # ryu-manager passes a green one (rest/metrics.py)
        self._readings = {}         # dpid -> (Reading, read at, keep for)
        self._locks = {}
        self.dumps = 0              # flow dumps made, for tests and curiosity

    def get(self, dpid):
        """The dpid's Reading, fresh enough; raises what the dump raised."""
        lock = self._locks.setdefault(dpid, self.lock())
        with lock:   # a second scrape waits for the first one's dump and shares it
            cached = self._readings.get(dpid)
            now = self.clock()
            if cached is not None and now - cached[1] < cached[2]:
                return cached[0]
            reading = self._read(dpid)
            keep = max(FLOW_CACHE_SECONDS, FLOW_CACHE_PER_DUMP_SECOND * reading.seconds)
            self._readings[dpid] = (reading, self.clock(), keep)
            return reading

    def _read(self, dpid):
        started = self.clock()
        flows = self.view.dump_flows(dpid)
        self.dumps += 1
        settings = self.view.settings
        counts, learned = collections.Counter(), collections.Counter()
        for stats in flows:
            counts[stats.flow.table] += 1
            if stats.flow.table == tables.UCAST_TO_TUN:
                mac = learned_mac(stats, settings, {})
                if mac is not None and mac['vni'] is not None:
                    learned[mac['vni']] += 1
        return Reading(dict(counts), dict(learned), self.clock() - started)

    def keep_only(self, dpids):
        """Forget switches that are gone: their counts are not known any more."""
        for dpid in set(self._readings) - set(dpids):
            del self._readings[dpid]


class Collector:
    """prometheus_client's custom collector over the view (collect() per scrape)."""

    def __init__(self, view, readings):
        self.view = view
        self.readings = readings
        self.known = set()          # br-tun dpids seen since start

    def saw(self, dpid):
        self.known.add(dpid)

    def collect(self):
        switches = sorted(self.view.switches(), key=lambda sw: sw.dpid)
        connected = {sw.dpid for sw in switches}
        self.known |= connected
        self.readings.keep_only(connected)
        families = [self._connected(connected), *self._flows(switches),
                    *self._syncs(switches)]
        registry = self.view.registry_connected()
        if registry is not None:
            families.append(GaugeMetricFamily(
                NAME + 'registry_connected', '1 while the registry follower\'s last read or '
                'watch of etcd worked, 0 after it failed', value=1 if registry else 0))
        tunnels = self._tunnels(switches)
        if tunnels is not None:
            families.append(tunnels)
        return families

    def _connected(self, connected):
        family = GaugeMetricFamily(NAME + 'switch_connected', 'br-tun connected now (1) or '
                                   'seen since start and gone (0)', labels=['dpid'])
        for dpid in sorted(self.known):
            family.add_metric([dpid_text(dpid)], 1 if dpid in connected else 0)
        return family

    def _flows(self, switches):
        flows = GaugeMetricFamily(NAME + 'flows', 'flows per table on br-tun, read from the '
                                  'switch (kept %g s, or %d times as long as the dump took)'
                                  % (FLOW_CACHE_SECONDS, FLOW_CACHE_PER_DUMP_SECOND),
                                  labels=['dpid', 'table'])
        macs = GaugeMetricFamily(NAME + 'learned_macs', 'learned table-%d flows per VNI, read '
                                 'from the switch' % tables.UCAST_TO_TUN, labels=['dpid', 'vni'])
        vnis = self.view.vnis()
        for sw in switches:
            try:
                reading = self.readings.get(sw.dpid)
            except Exception as exc:  # no answer: no value this scrape
                LOG.warning('metrics: switch %s did not answer the flow-stats request: %s',
                            dpid_text(sw.dpid), exc)
                continue
            # A table of ours with no flow, and a VPC with no learned MAC, were read as 0.
            counts = dict.fromkeys(tables.ALL, 0)
            counts.update(reading.tables)
            for table, count in sorted(counts.items()):
                flows.add_metric([dpid_text(sw.dpid), str(table)], count)
            learned = dict.fromkeys(vnis, 0)
            learned.update(reading.learned)
            for vni, count in sorted(learned.items()):
                macs.add_metric([dpid_text(sw.dpid), '%#x' % vni], count)
        return flows, macs

    def _syncs(self, switches):
        syncs = CounterMetricFamily(NAME + 'syncs', 'sync attempts by result, since the '
                                    'switch connected', labels=['dpid', 'result'])
        repaired = CounterMetricFamily(NAME + 'flows_repaired', 'flows restored or removed '
                                       'after drift, since the switch connected',
                                       labels=['dpid'])
        for sw in switches:
            for result, count in sorted(sw.syncs.items()):
                syncs.add_metric([dpid_text(sw.dpid), result], count)
            repaired.add_metric([dpid_text(sw.dpid)], sw.repaired)
        return syncs, repaired

    def _tunnels(self, switches):
        """tunnel_up from the app's tunnel_health(), only when it returns data."""
        try:
            health = self.view.tunnel_health()
        except Exception:  # unknown this scrape: absent, and the other metrics still served
            LOG.exception('metrics: tunnel health could not be read')
            return None
        if not health:
            return None
        family = GaugeMetricFamily(NAME + 'tunnel_up', 'tunnel liveness by BFD: 1 up, 0 down '
                                   '(absent: no BFD or unknown)',
                                   labels=['dpid', 'port', 'remote_ip'])
        for sw in switches:
            for name in sorted(sw.tunnel_ports):
                value = TUNNEL_STATES.get(health.get(name))
                if value is not None:
                    family.add_metric([dpid_text(sw.dpid), name,
                                       remote_ip_of_port(name) or ''], value)
        return family


class Metrics:
    """The registry, the collector and the sync histogram, fed by the app's syncs."""

    def __init__(self, view, clock=time.monotonic, lock=threading.Lock):
        self.registry = CollectorRegistry(auto_describe=False)
        self.readings = FlowReadings(view, clock, lock)
        self.collector = Collector(view, self.readings)
        self.registry.register(self.collector)
        self.sync_seconds = Histogram(NAME + 'sync_seconds', 'seconds of each successful '
                                      'sync (read, plan, send)', buckets=SYNC_SECONDS_BUCKETS,
                                      registry=self.registry)

    def observe_sync(self, switch, report, error):
        """An app.sync_observers entry: called after every sync attempt."""
        self.collector.saw(switch.dpid)
        if report is not None:
            self.sync_seconds.observe(report.seconds)
