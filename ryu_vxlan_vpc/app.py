"""Ryu application: keeps each compute node's br-tun holding the VXLAN VPC pipeline.

``ryu-manager --config-file FILE ryu_vxlan_vpc.app`` (OpenFlow 1.3 + Nicira extensions).

The app adapts Ryu to the Ryu-free core (``core.switches.Controller``), which decides
which switch is br-tun and what a sync sends:
- switch events become the core's state: the ports of every connected datapath, by name;
- the node's intent (VPCs with local VLANs, remote VTEPs, VM port bindings) comes from
  the config file (re-read on SIGHUP) or from the etcd registry (``registry.follow``);
- whenever either changes, a resync reads back the flows carrying ``flow_cookie`` and
  sends the core's plan as one atomic bundle; in registry mode ``core.ports`` also says
  which tunnel ports and VM port tags to change in OVSDB (``ports_agent``).
Flows with other cookies are never touched, except learned flows (``learn_cookie``) that
the installed pipeline shows to be stale (their tunnel or their VPC went away).
"""
import collections
import gc
import itertools
import logging
import signal
import sys
import time

from eventlet import tpool
from oslo_config import cfg as oslo_cfg
from ryu import cfg
from ryu.app.ofctl import api as ofctl_api
from ryu.app.wsgi import WSGIApplication
from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import (CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER,
                                    set_ev_cls)
from ryu.lib import hub
from ryu.ofproto import ofproto_v1_3

from . import bigjobs, config, listeners, malloc, tunnel_health
from .core import intent as intents
from .core.switches import Controller, plan_from, state_from
from .flows.mods import DeleteStrict
from .flows.rows import split
from .flows.text import render
from .ofp import decode, encode, flowstats_raw, rows_read, send
from .pipeline import br_tun
from .pipeline.tables import UCAST_TO_TUN
from .ports_agent import PortsAgent
from .rest import api as rest_api
from .sync_report import SyncReport

LOG = logging.getLogger('ryu_vxlan_vpc.app')

config.register_opts(cfg.CONF)
# Flow-stats replies reach us as raw bytes, decoded straight into our FlowStats: Ryu would
# build an object tree per flow first (100k flows: seconds and hundreds of MiB).
flowstats_raw.install()

STATS_TIMEOUT = 120  # seconds for a whole flow dump; 100k flows take about 10 s here
COUNT_TIMEOUT = 10   # seconds for the switch to count its flows (one small reply)
RETRY_DELAYS = (1, 2, 4, 8, 15, 30)  # seconds before retrying a failed sync; then every 30 s
DESCRIBE_ATTEMPTS = 5  # port descriptions per connect while port events keep arriving
LOGGED_FLOWS = 20      # flow changes of one sync logged one by one at INFO; the rest DEBUG


class _FlowDump:
    """One flow-stats request in flight: its reply parts, queued as they arrive and decoded
    only when the reader takes them, so a streamed REST answer holds one part's flows at a
    time and Ryu's message objects for 100k flows are never all alive at once.

    With ``read`` (a sync's), each part is read as it arrives, in the app's event loop, and
    only what it gives is queued: Ryu's receive loop takes in a whole dump while the sync
    is busy elsewhere, and 100k flows' replies (28 MiB) would wait in the queue."""

    def __init__(self, read=None):
        # ('raw', bytes) | ('stats', [Ryu stats]) | ('read', read's result) | ('error', text)
        self.parts = hub.Queue()
        self.read = read


class Switch:
    """A connected datapath and the bookkeeping of its syncs; its ports are the core's."""

    def __init__(self, datapath, view):
        self.datapath = datapath
        self.view = view               # core.switches.SwitchView: ports by name
        self.port_events = 0           # port-status events seen (to detect races)
        self.rejected = 0              # OpenFlow errors the switch sent us
        self.bundles = True            # until the switch refuses to open one
        self.dirty = False
        self.syncing = False
        self.wake = hub.Event()        # set by a new sync request
        self.watched = None            # xids of the flow changes in flight, while a sync runs
        self.last_sync = None          # SyncReport of the last successful sync
        self.audit = False             # the next sync is a drift audit (quiet when clean)
        self.audited = False           # its audit loop runs
        self.check_learned = True      # ports changed: read learned flows and port ages
        self.repaired = 0              # flows restored or removed after drift, in total
        self.syncs = {'ok': 0, 'failed': 0}  # sync attempts by result, since connecting
        # Our flows as decoded by the last syncs' reads: a resync decodes only what changed.
        self.flow_cache = flowstats_raw.FlowCache()

    @property
    def dpid(self):
        return self.datapath.id

    @property
    def ports(self):
        return self.view.ports

    def tunnel_ports(self):
        return self.view.tunnel_ports()


class VxlanVpcApp(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {'wsgi': WSGIApplication}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ryu queues up to 128 OpenFlow events for an app while its handlers run; 128
        # flow-stats replies of 64 KiB are 8 MiB of a dump. Fewer bound that, and Ryu's
        # receive loop then waits for us (and the switch for its socket).
        self.events = hub.Queue(EVENT_QUEUE)
        self._events_sem = hub.BoundedSemaphore(EVENT_QUEUE)
        try:
            self.settings = config.settings_from(cfg.CONF)
            config.check_rest_listener(cfg.CONF)
            listeners.check_no_clash(cfg.CONF)
        except (config.ConfigError, oslo_cfg.Error) as exc:
            # Before any switch is contacted: nothing is sent.
            if isinstance(exc, config.ConfigError):
                exc.locate(cfg.CONF)
            _refuse(2, 'bad configuration, not starting: %s' % config.one_line(exc))
        self.switches = {}  # dpid -> Switch, every connected datapath
        self._dumps = {}    # (datapath, xid) -> _FlowDump in flight
        self._counts = {}   # (datapath, xid) -> queue of an aggregate stats request's reply
        # Called as f(switch, report, error) after every sync attempt: report is the
        # SyncReport (None when nothing was due), error the exception of a failed one.
        self.sync_observers = []
        file_intent = None if self.settings.registry else intents.from_settings(self.settings)
        self.core = Controller(self.settings, file_intent)
        self.ports_agent = PortsAgent(self.settings, self._intent_changed)
        for option in ('ofp_listen_host', 'wsapi_host'):
            listeners.loopback_by_default(cfg.CONF, option)
        LOG.info('%s', listeners.describe(cfg.CONF))
        try:
            listeners.check_bindable(cfg.CONF)
        except listeners.ListenerError as exc:
            _refuse(exc.status, 'not starting: %s' % exc)
        rest_api.register(kwargs['wsgi'], self)
        if self.settings.registry:
            LOG.info('ryu_vxlan_vpc: node %s, local_ip=%s; VPCs, nodes and VM ports from the '
                     'registry at %s (prefix %s); OVSDB %s', self.settings.node_name,
                     self.settings.local_ip, ','.join(self.settings.etcd_endpoints),
                     self.settings.registry_prefix, self.settings.ovsdb_connection)
            hub.spawn(self.ports_agent.run_registry)
        else:
            LOG.info('ryu_vxlan_vpc: local_ip=%s VPCs=%s from the config file (SIGHUP re-reads '
                     'vpcs and remote_ips)', self.settings.local_ip, _vpcs_text(file_intent))
        hub.spawn(self.ports_agent.run_health, self._health_changed)  # BFD, both modes
        _tune_gc()
        malloc.one_arena()   # before the native threads allocate: see malloc.py
        hub.spawn(_report_stalls)
        # Also in registry mode: SIGHUP's default action would end the process.
        signal.signal(signal.SIGHUP, lambda *_: hub.spawn(self._reload_config))
        LOG.info('programming the bridge with port %r', self.settings.patch_int_port)

    @property
    def intent(self):
        return self.core.intent

    def _intent_changed(self, intent):
        """The ports agent or a reload has a new intent: sync the switches it changes."""
        self._request_syncs(self.core.set_intent(intent))

    def _request_syncs(self, dpids):
        for dpid in dpids:
            switch = self.switches.get(dpid)
            if switch is not None:
                self._request_sync(switch)

    def _reload_config(self):
        """SIGHUP in file mode: apply new vpcs and remote_ips without a restart."""
        if self.settings.registry:
            LOG.info('SIGHUP: the registry is followed live; nothing to re-read')
            return
        try:
            cfg.CONF.reload_config_files()
            new = config.settings_from(cfg.CONF)
        except (config.ConfigError, oslo_cfg.Error, ValueError) as exc:
            LOG.error('SIGHUP: config not reloaded, still running the previous one: %s', exc)
            return
        if new.registry:
            LOG.error('SIGHUP: etcd_endpoints is now set; switching to the registry needs a '
                      'restart. Still running the previous config.')
            return
        others = config.changed_options(self.settings, new, ('vpcs', 'remote_ips'))
        if others:
            LOG.warning('SIGHUP: %s changed; only vpcs and remote_ips apply without a restart',
                        ', '.join(others))
        old_intent, intent = self.core.intent, intents.from_settings(new)
        self.settings = config.replace_intent(self.settings, new)
        self.core.settings = self.settings
        self.ports_agent.settings = self.settings
        LOG.info('SIGHUP: %s', intents.describe_change(old_intent, intent))
        self._intent_changed(intent)
        self.ports_agent.apply_tunnels(intent)

    def _health_changed(self, health):
        """A tunnel's BFD health changed: with l2population its flood lists follow."""
        self._request_syncs(self.core.set_tunnel_health(health))

    # --- what REST and tests ask -----------------------------------------------------
    def tunnel_health(self):
        """{tunnel port name: 'up' | 'down' | 'no-bfd'} from the last BFD reading; a
        tunnel not read yet is absent."""
        return tunnel_health.health_map(self.ports_agent.tunnels)

    def tunnel_bfd_status(self):
        """{tunnel port name: OVS's bfd_status map} from the last reading ({} without BFD)."""
        return {name: dict(t.status) for name, t in self.ports_agent.tunnels.items()}

    def br_tun_switches(self):
        return [sw for sw in self.switches.values() if self.core.is_br_tun(sw.dpid)]

    def is_br_tun(self, switch):
        return self.core.is_br_tun(switch.dpid)

    def dump_flows(self, dpid, table=None, cookie=None, timeout=STATS_TIMEOUT):
        """The flows the switch holds now (a flow-stats request), as FlowStats."""
        return [fs for part in self.stream_flows(dpid, table, cookie, timeout) for fs in part]

    def stream_flows(self, dpid, table=None, cookie=None, timeout=STATS_TIMEOUT, cache=None,
                     rows=None, sent=None, write=None):
        """The flows the switch holds now, as lists of FlowStats, one per reply part.

        A generator: the request goes out when iteration starts. ``timeout`` bounds the time
        spent waiting for the switch, not the reader's pace (a slow HTTP client reading a
        streamed answer is not the switch's delay). Raises TimeoutError, ConnectionError
        (disconnected, undecodable reply) or KeyError (no such switch). ``cache``: the
        switch's FlowCache, for reads that repeat (a sync's). ``rows``: a
        rows_read.RowReader that takes the entries of the bulk shapes, undecoded and not
        yielded (a sync's). ``sent``: a request already made (``_request``), whose replies
        are read instead of asking anew. ``write``: a rest.templates.Templates that turns
        each part into its written items (what the part is then), from the raw entries.
        """
        return self._reply_parts(dpid, table, cookie, timeout, _reader(cache, rows, write),
                                 sent)

    def flow_count(self, dpid, cookie=None, timeout=COUNT_TIMEOUT):
        """How many flows the switch holds (those with ``cookie``), from OpenFlow aggregate
        stats: the switch counts them and sends one number, not every flow. /switches is
        polled (the web page, every 3 s): at 100k flows each poll was a whole dump, which
        also slowed any sync running meanwhile. Raises TimeoutError (no answer: gone,
        or refused) or KeyError (no such switch)."""
        datapath = self.switches[dpid].datapath
        ofp, parser = datapath.ofproto, datapath.ofproto_parser
        request = parser.OFPAggregateStatsRequest(
            datapath, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, cookie or 0,
            ALL_BITS if cookie is not None else 0, parser.OFPMatch())
        datapath.set_xid(request)
        key = (datapath, request.xid)   # our own bookkeeping: nothing is left on a timeout
        waiting = self._counts[key] = hub.Queue(1)
        try:
            datapath.send_msg(request)
            try:
                reply = waiting.get(timeout=timeout)
            except hub.QueueEmpty:
                raise TimeoutError('no aggregate stats reply within %ss' % timeout) from None
        finally:
            self._counts.pop(key, None)
        return reply.body.flow_count

    def stream_table_counts(self, dpid, table=None, cookie=None, timeout=STATS_TIMEOUT):
        """{table: flows} of each reply part of a flow-stats request, counted from the raw
        entries without decoding them (what /tables shows). Raises as
        ``stream_flows`` does."""
        def count(kind, item):
            if kind == 'raw':
                return flowstats_raw.table_counts(item)
            return dict(collections.Counter(stats.table_id for stats in item))
        return self._reply_parts(dpid, table, cookie, timeout, count)

    def _request(self, dpid, table=None, cookie=None, read=None):
        """Send a flow-stats request now; returns (key, dump), where its replies queue up
        until read (``stream_flows(sent=...)``) or dropped (``self._dumps.pop(key)``).
        ``read(kind, body)``: what to queue of each part instead of the part (_FlowDump)."""
        datapath = self.switches[dpid].datapath
        request = encode.flow_stats_request(datapath, table, cookie)
        datapath.set_xid(request)
        key = (datapath, request.xid)  # the connection, not the dpid: a reconnect is new
        dump = self._dumps[key] = _FlowDump(read)
        try:
            datapath.send_msg(request)
        except Exception:
            self._dumps.pop(key, None)
            raise
        return key, dump

    def _reply_parts(self, dpid, table, cookie, timeout, read, sent=None):
        """``read(kind, body)`` of each reply part, body being 'raw' bytes or 'stats' (Ryu's
        parsed list); a body it cannot read fails the dump. The request goes out when
        iteration starts, unless ``sent`` already did."""
        key, dump = sent if sent is not None else self._request(dpid, table, cookie)
        waited = 0.0
        try:
            while True:
                began = time.monotonic()
                try:
                    kind, item, last = dump.parts.get(timeout=max(timeout - waited, 0.001))
                except hub.QueueEmpty:
                    raise TimeoutError('no complete flow-stats reply within %ss' % timeout)
                waited += time.monotonic() - began
                if kind == 'error':
                    raise ConnectionError(item)
                try:   # a part the handler read already ('read') is what it gave
                    part = item if kind == 'read' else read(kind, item)
                except ValueError as exc:  # a malformed reply
                    raise ConnectionError('undecodable flow-stats reply: %s' % exc)
                yield part
                if last:
                    return
        finally:
            self._dumps.pop(key, None)

    @set_ev_cls(ofp_event.EventOFPAggregateStatsReply, MAIN_DISPATCHER)
    def _aggregate_stats_reply(self, ev):
        waiting = self._counts.get((ev.msg.datapath, ev.msg.xid))
        if waiting is not None and waiting.empty():
            waiting.put(ev.msg)

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats_reply(self, ev):
        msg = ev.msg
        dump = self._dumps.get((msg.datapath, msg.xid))
        if dump is None:
            return
        raw = getattr(msg, 'raw_body', None)
        last = not msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE
        kind, body = ('raw', raw) if raw is not None else ('stats', msg.body)
        if dump.read is None:
            dump.parts.put((kind, body, last))
            return
        try:
            dump.parts.put(('read', dump.read(kind, body), last))
        except ValueError as exc:   # a malformed reply
            dump.parts.put(('error', 'undecodable flow-stats reply: %s' % exc, True))
        except Exception as exc:    # a bug in the reader: the dump fails, not the app
            LOG.exception('reading a flow-stats reply failed')
            dump.parts.put(('error', 'reading the flow-stats reply failed: %s' % exc, True))

    # --- switch events -> state ------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _features(self, ev):
        """Ryu drops a switch's connection when another one says it has the same dpid
        (ryu.app.ofctl.service, at this very message): say so, loudly."""
        dpid, datapath = ev.msg.datapath_id, ev.msg.datapath
        held = self.switches.get(dpid)
        if held is not None and held.datapath is not datapath and held.datapath.is_active:
            LOG.error('switch %016x: a new OpenFlow connection from %s claims this dpid, '
                      'held by the connection from %s; Ryu drops the older one. If that is '
                      'not the switch reconnecting, something else speaks for it: keep '
                      'ofp_listen_host on 127.0.0.1 or require TLS (see the README)',
                      dpid, _peer(datapath), _peer(held.datapath))

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev):
        datapath = ev.datapath
        if ev.state == MAIN_DISPATCHER:
            hub.spawn(self._on_connect, datapath)
        elif datapath.id is not None:
            switch = self.switches.get(datapath.id)
            if switch is not None and switch.datapath is datapath:
                del self.switches[datapath.id]
                self.core.disconnected(datapath.id)
                LOG.info('switch %016x disconnected', datapath.id)
            for (dp, _), dump in list(self._dumps.items()):
                if dp is datapath:
                    dump.parts.put(('error', 'switch %016x disconnected' % datapath.id, True))

    def _on_connect(self, datapath):
        # Registered before asking, so port events during the request are seen; if any
        # arrive, the description may predate them and is asked again.
        switch = self.switches[datapath.id] = Switch(datapath, self.core.connected(datapath.id))
        for _ in range(DESCRIBE_ATTEMPTS):
            events = switch.port_events
            ports = self._describe_ports(datapath)
            if self.switches.get(datapath.id) is not switch:
                return
            if ports is None:  # gone while we asked: forget it unless it is back anew
                del self.switches[datapath.id]
                self.core.disconnected(datapath.id)
                return
            wants_sync = self.core.described(datapath.id, ports)
            if switch.port_events == events:
                break
        if not self.core.is_br_tun(datapath.id):
            LOG.info('switch %016x connected with ports %s and no %r (yet): left alone '
                     'unless that port appears', datapath.id,
                     _ports_text(switch.ports), self.settings.patch_int_port)
            return
        self._became_br_tun(switch, wants_sync)

    def _became_br_tun(self, switch, wants_sync):
        LOG.info('switch %016x is %s: %s=%d, tunnels %s', switch.dpid,
                 self.settings.tun_bridge, self.settings.patch_int_port,
                 switch.ports[self.settings.patch_int_port], _ports_text(switch.tunnel_ports()))
        if self.settings.resync_interval and not switch.audited:
            switch.audited = True
            hub.spawn(self._audit_loop, switch)
        if wants_sync:
            self._request_sync(switch)
        else:
            LOG.info('switch %016x: not synced until the registry has been read; its flows '
                     'are left as they are', switch.dpid)

    def _describe_ports(self, datapath):
        """{name: ofport} from a port description request, or None if the switch left."""
        parser = datapath.ofproto_parser
        try:
            replies = ofctl_api.send_msg(self, parser.OFPPortDescStatsRequest(datapath),
                                         reply_cls=parser.OFPPortDescStatsReply,
                                         reply_multi=True) or []
        except Exception as exc:  # the switch went away while we asked
            LOG.warning('switch %016x: port description failed: %s', datapath.id, exc)
            return None
        return {_port_name(p): p.port_no for reply in replies for p in reply.body}

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev):
        msg = ev.msg
        switch = self.switches.get(msg.datapath.id)
        if switch is None or switch.datapath is not msg.datapath:
            return
        switch.port_events += 1
        if not switch.view.described:
            return  # _on_connect describes the ports again
        ofp, name = msg.datapath.ofproto, _port_name(msg.desc)
        ofport = None if msg.reason == ofp.OFPPR_DELETE else msg.desc.port_no
        was_br_tun = self.core.is_br_tun(switch.dpid)
        before, wants_sync = self.core.port_changed(switch.dpid, name, ofport)
        if before == ofport:
            return
        LOG.info('switch %016x: port %s %s', switch.dpid, name,
                 'removed' if ofport is None else 'is ofport %d' % ofport)
        switch.check_learned = True
        if not was_br_tun and self.core.is_br_tun(switch.dpid):
            self._became_br_tun(switch, wants_sync)
        elif wants_sync:
            self._request_sync(switch)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def _error(self, ev):
        msg = ev.msg
        # Experimenter errors (e.g. ONF bundle errors) have exp_type instead of a code.
        code = msg.code if msg.code is not None else 'exp_type=%s' % getattr(msg, 'exp_type', '?')
        LOG.error('switch %016x rejected a message (xid=%s): type=%s code=%s',
                  msg.datapath.id, msg.xid, msg.type, code)
        switch = self.switches.get(msg.datapath.id)
        if (switch is not None and switch.datapath is msg.datapath
                and switch.watched is not None and msg.xid in switch.watched):
            switch.rejected += 1

    # --- state -> flows --------------------------------------------------------------
    def _request_sync(self, switch):
        """Coalesce bursts of changes into one sync at a time per switch."""
        switch.dirty = True
        switch.wake.set()  # cuts short a retry delay: new state may sync now
        if not switch.syncing:
            switch.syncing = True
            hub.spawn(self._sync_loop, switch)

    def _sync_loop(self, switch):
        failures = 0
        try:
            while switch.dirty and self.switches.get(switch.dpid) is switch:
                switch.dirty = False
                audit, switch.audit = switch.audit, False
                try:
                    report = self._sync(switch, audit)
                    malloc.trim()   # what the sync built and dropped goes back: malloc.py
                    failures = 0
                    if report is not None:
                        switch.syncs['ok'] += 1
                    self._observe(switch, report, None)
                except Exception as exc:
                    switch.syncs['failed'] += 1
                    self._observe(switch, None, exc)
                    delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                    failures += 1
                    LOG.error('switch %016x: sync failed (%s); retrying in %d s',
                              switch.dpid, exc, delay)
                    switch.dirty = True
                    switch.wake.clear()
                    switch.wake.wait(timeout=delay)
        finally:
            switch.syncing = False

    def _observe(self, switch, report, error):
        for observer in self.sync_observers:
            try:
                observer(switch, report, error)
            except Exception:  # an observer (metrics) never stops the syncs
                LOG.exception('sync observer %r failed', observer)

    def _sync(self, switch, audit=False):
        """One read-plan-send round; returns its SyncReport (None when nothing was due).
        The only big job while it runs (bigjobs.py): its tpool work calls tpool directly."""
        with bigjobs.turn():
            return self._sync_now(switch, audit)

    def _sync_now(self, switch, audit):
        if not self.core.wants_sync(switch.dpid):
            return None
        started = time.monotonic()
        inputs = self.core.state_inputs(switch.dpid)
        # Our flows are asked for first, and read as the replies arrive, while the state
        # and the pipeline are built in a native thread (100k rows take a while, and the
        # event loop must keep answering the switch's echo requests). The entries of the
        # bulk rows are only cut down to their values (rows_read), never decoded; the
        # replies are not kept.
        switch.flow_cache.next_dump()
        reader = rows_read.RowReader(rows_read.shapes(self.settings.flow_cookie))
        sent = self._request(switch.dpid, cookie=self.settings.flow_cookie,
                             read=_reader(switch.flow_cache, reader))
        building = hub.spawn(_outcome, tpool.execute, _desired_and_row_bytes, inputs)
        try:
            installed = [fs.flow for part in self.stream_flows(switch.dpid, sent=sent)
                         for fs in part]
        except BaseException:   # also this green thread killed meanwhile
            self._dumps.pop(sent[0], None)
            hub.kill(building)
            raise
        read = time.monotonic()
        built, result = building.wait()
        if not built:
            raise result
        desired, wanted = result
        families = split(desired)[1]
        recognised = len(reader)
        matched, others = tpool.execute(rows_read.resolve, reader, families, wanted)
        del reader, wanted
        installed += others
        learned = ages = None
        check_learned, switch.check_learned = switch.check_learned, False
        try:
            # Cleared first: a port event while we read sets it again for the next sync.
            if check_learned:
                learned, ages = self._learned_and_tunnel_ages(switch)
                read = time.monotonic()
            plan = tpool.execute(plan_from, *self.core.plan_inputs(
                switch.dpid, installed, learned, ages, desired=desired, matched=matched))
            # Adds before deletes, so traffic never meets a gap even without a bundle.
            mods = plan.wire_mods()
            planned = time.monotonic()
            how = send.send_changes(self, switch, mods) if mods else 'nothing to send'
        except Exception:
            # The retry must look at the learned flows again: this one may not have.
            switch.check_learned = switch.check_learned or check_learned
            raise
        if self.switches.get(switch.dpid) is not switch:
            return None  # reconnected meanwhile: the new connection syncs on its own
        self.core.sync_done(switch.dpid, plan)
        done = time.monotonic()
        report = SyncReport.of(switch.dpid, plan, how, done - started, phases=(
            read - started, planned - read, done - planned),
            read=(len(installed) - len(others), recognised))
        switch.last_sync = report
        switch.repaired += report.repaired
        self._log_sync(switch, plan, report, audit)
        return report

    def _learned_and_tunnel_ages(self, switch):
        """The learned flows, then {ofport: seconds alive} of the tunnels: in this order, so
        that a valid learned flow always looks younger than its port (pipeline.learned)."""
        learned = self.dump_flows(switch.dpid, table=UCAST_TO_TUN,
                                  cookie=self.settings.learn_cookie)
        ages = self._port_ages(switch.datapath)
        tunnels = set(switch.tunnel_ports().values())
        return learned, {no: age for no, age in ages.items() if no in tunnels}

    def _port_ages(self, datapath):
        """{ofport: seconds the port has existed}, from a port-stats request."""
        parser, ofp = datapath.ofproto_parser, datapath.ofproto
        replies = ofctl_api.send_msg(self, parser.OFPPortStatsRequest(datapath, 0, ofp.OFPP_ANY),
                                     reply_cls=parser.OFPPortStatsReply,
                                     reply_multi=True) or []
        return {s.port_no: s.duration_sec + s.duration_nsec / 1e9
                for reply in replies for s in reply.body}

    def _audit_loop(self, switch):
        """Drift repair: every resync_interval, a sync against what the switch holds."""
        interval = self.settings.resync_interval
        while True:
            hub.sleep(interval)
            if self.switches.get(switch.dpid) is not switch:
                return
            if self.core.wants_sync(switch.dpid) and not switch.syncing:
                switch.audit = True
                self._request_sync(switch)

    def _log_sync(self, switch, plan, report, audit=False):
        if audit and plan.empty:
            LOG.debug('switch %016x: audit found the pipeline as installed (%d flows)',
                      switch.dpid, report.flows)
            return
        if plan.repaired:
            LOG.warning('switch %016x: repaired %d flows changed behind our back (%d so far): '
                        '%s', switch.dpid, len(plan.repaired), switch.repaired,
                        '; '.join(render(f) for f in plan.repaired[:LOGGED_FLOWS]))
        # Rendered lazily: a sync of 100k flows logs LOGGED_FLOWS lines at info level, and
        # renders the others only when debug is on.
        lines = itertools.chain(
            ('installed ' + render(f) for f in plan.add),
            ('removed ' + render(f) for f in plan.delete),
            ('removed stale learned flows %s' % _delete_text(d) for d in plan.forget))
        changes = len(plan.add) + len(plan.delete) + len(plan.forget)
        shown = changes if LOG.isEnabledFor(logging.DEBUG) else LOGGED_FLOWS
        for i, line in enumerate(itertools.islice(lines, shown)):
            LOG.log(logging.INFO if i < LOGGED_FLOWS else logging.DEBUG,
                    'switch %016x: %s', switch.dpid, line)
        if changes > LOGGED_FLOWS:
            LOG.info('switch %016x: ... and %d more flow changes (logged at debug level)',
                     switch.dpid, changes - LOGGED_FLOWS)
        LOG.info('switch %016x: pipeline in sync, %d flows installed on %s '
                 '(%d added, %d removed, %d unchanged; %s); tunnels %s; took %.3f s',
                 switch.dpid, report.flows, self.settings.tun_bridge, report.added,
                 report.removed, report.unchanged, report.how,
                 _ports_text(switch.tunnel_ports()), report.seconds)
        LOG.debug('switch %016x: sync phases: read %.3f s (%d flows decoded, %d rows '
                  'recognised by their bytes), plan %.3f s, send %.3f s', switch.dpid,
                  report.read_seconds, report.read_decoded, report.read_recognised,
                  report.plan_seconds, report.send_seconds)


ALL_BITS = 0xffffffffffffffff   # a cookie mask that matches the whole cookie
EVENT_QUEUE = 16   # OpenFlow events waiting for this app's handlers (Ryu's default: 128)
STALL_WARN = 2.0   # seconds the event loop may be held before we say so
# Collections of the youngest generation every GC_THRESHOLD[0] allocations, the oldest only
# after GC_THRESHOLD[0] * [1] * [2] (20 million): see _tune_gc.
GC_THRESHOLD = (10000, 20, 100)


def _desired_and_row_bytes(state_inputs):
    """The pipeline for the state (core.state_inputs; rows as rows) and {shape: the row
    bytes of each of its rows} (rows_read), by which a read finds them installed."""
    desired = tuple(br_tun.build_rows(state_from(*state_inputs)))
    return desired, {f.shape: rows_read.row_bytes(f.shape, f.rows) for f in split(desired)[1]}


def _reader(cache=None, rows=None, write=None):
    """``read(kind, body)`` of a flow-stats reply part (see ``App.stream_flows``): its
    FlowStats (the rows' entries left in ``rows``), or ``write``'s items."""
    def read(kind, item):
        if kind == 'raw':
            if write is not None:
                return write.write(item)
            return list(flowstats_raw.iter_flow_stats(item, cache, rows))
        decoded = [decode.flow_stats(stats) for stats in item]
        return decoded if write is None else write.write(decoded)
    return read


def _outcome(func, *args):
    """(True, its result) or (False, the exception): what a green thread that is waited
    for returns, so that its failure is raised by the waiter (and logged once, there)."""
    try:
        return True, func(*args)
    except Exception as exc:
        return False, exc


def _tune_gc():
    """A node with 200k flows holds millions of long-lived objects (flows read back, the
    last sync's flows, the fleet). With Python's default thresholds a sync that builds 200k
    flows runs several full collections, each walking all of them with the GIL held:
    measured at 1000 nodes x 100 ports, the plan took 5.3 s instead of 1.9 s and held the
    event loop long enough (over OVS's 5 s inactivity probe) for br-tun to disconnect.
    Our data has no reference cycles; the young generations still collect what others
    (green threads, exceptions) leave. What start-up made is moved out of the way."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _report_stalls(tick=0.5):
    """Warn when the event loop was held: a switch disconnects when its echo request
    goes unanswered for its inactivity probe (OVS: 5 s), and REST stops answering."""
    last = time.monotonic()
    while True:
        hub.sleep(tick)
        now = time.monotonic()
        if now - last - tick > STALL_WARN:
            LOG.warning('event loop held for %.1f s: switches and REST were not served '
                        'meanwhile', now - last - tick)
        last = now


def _refuse(status, message):
    """Stop before any switch is contacted, with one line: the log's, which Ryu writes to
    stderr by default; printed as well only when the log goes elsewhere."""
    LOG.error('%s', message)
    if not any(getattr(h, 'stream', None) is sys.stderr for h in logging.getLogger().handlers):
        print('ryu_vxlan_vpc: %s' % message, file=sys.stderr)
    raise SystemExit(status)


def _peer(datapath):
    address = getattr(datapath, 'address', None)
    return '%s:%s' % address[:2] if address else 'an unknown address'


def _port_name(port):
    name = port.name
    return name.decode('utf-8', 'replace') if isinstance(name, bytes) else name


def _vpcs_text(intent):
    return ', '.join('%#x->vlan %d' % (v.vni, v.local_vlan) for v in intent.vpcs) or 'none'


def _delete_text(mod):
    if isinstance(mod, DeleteStrict):  # one learned flow, older than its port or portless
        return render(mod.flow)
    where = [] if mod.out_port is None else ['output to %d' % mod.out_port]
    if mod.match.vlan_tci is not None:
        where.append('on local VLAN %d' % mod.match.vlan_tci[0])
    return 'in table %s %s' % (mod.table, ' '.join(where))


def _ports_text(ports, shown=8):
    """A node may have a thousand tunnels: the first few, then how many more."""
    items = ['%s=%d' % item for item in sorted(ports.items())]
    more = ' and %d more' % (len(items) - shown) if len(items) > shown else ''
    return ', '.join(items[:shown]) + more if items else 'none'
