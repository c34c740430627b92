"""HTTP handlers for /vxlan-vpc/, served by ryu-manager's WSGI server (--wsapi-host/port).

Flows are always read from the switch (a flow-stats request), never from memory, and
rendered by flows.text, so learned flows and learn() itself print as ovs-ofctl does.
/flows and /macs stream their answers as the switch's replies arrive (stream.py).
Every error is a JSON body {"error": ...} with a 4xx/5xx status; the app keeps running.
Undecodable input never gets here (guard.py answers it) but is refused here too, so the
handlers stay safe behind any server.
"""
import collections
import itertools
import json
import logging

from ryu.app.wsgi import ControllerBase, route
from webob import Response

from ..pipeline import tables
from . import errors, params as numbers, server, stream, views

LOG = logging.getLogger('ryu_vxlan_vpc.rest')

APP_KEY = 'vxlan_vpc_app'
PREFIX = '/vxlan-vpc'
MAX_COOKIE = (1 << 64) - 1
# What a 404 under PREFIX suggests (each is routed: tests/unit/test_rest_routes.py).
ENDPOINTS = ('/switches', '/flows', '/vpcs', '/macs', '/tables', '/tunnels', '/fleet',
             '/trace', '/ui/')
METRICS = '/metrics'  # Prometheus' usual path, outside PREFIX (rest/metrics.py)


class RestError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _json(body, status=200):
    return Response(status=status, content_type='application/json', charset='utf-8',
                    body=json.dumps(body, indent=1, sort_keys=True).encode() + b'\n')


def _error(status, message):
    return Response(status=status, content_type=errors.CONTENT_TYPE, charset='utf-8',
                    body=errors.body(status, message))


def handles_errors(method):
    def wrapper(self, req, **kwargs):
        try:
            return method(self, req, **kwargs)
        except RestError as exc:
            return _error(exc.status, str(exc))
        except Exception:  # never let one bad request take the app down
            # repr of the raw path: decoding req.path could raise again, in the handler
            # of the error (that turned GET /vxlan-vpc/%ff into a traceback once).
            LOG.exception('REST %s %r failed', req.method, req.environ.get('RAW_PATH_INFO'))
            return _error(500, 'internal error; the controller log has the details')
    wrapper.__name__ = method.__name__
    return wrapper


def _params(req, allowed):
    try:
        query = req.GET
    except UnicodeDecodeError:
        raise RestError(400, 'the query string is not UTF-8 (after %-decoding)')
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise RestError(400, 'unknown query parameter %r (allowed: %s)'
                        % (unknown[0], ', '.join(sorted(allowed))))
    repeated = sorted(name for name in set(query) if len(query.getall(name)) > 1)
    if repeated:
        raise RestError(400, 'query parameter %r given more than once' % repeated[0])
    return query


def _int_param(params, name, low, high):
    value = params.get(name)
    if value is None:
        return None
    try:
        number = numbers.parse_number(value)
    except ValueError:
        raise RestError(400, '%s=%r is not a number (decimal or 0x hex)' % (name, value))
    if not low <= number <= high:
        raise RestError(400, '%s=%r is outside %d..%d' % (name, value, low, high))
    return number


class VxlanVpcRest(ControllerBase):
    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.app = data[APP_KEY]

    def _switches(self, params):
        """br-tun switches selected by an optional ?dpid=."""
        return chosen_switches(self.app, params.get('dpid'))

    def _vpcs(self):
        """This node's VPCs now (none while the registry has not been read)."""
        intent = self.app.intent
        return intent.vpcs if intent is not None else ()

    def _dump(self, switch, table=None, cookie=None):
        return list(itertools.chain.from_iterable(self._parts(switch, table, cookie)))

    def _parts(self, switch, table=None, cookie=None, writer=None):
        """The switch's flows as reply parts (lists of FlowStats, or what ``writer(switch)``
        writes of them: stream.py). The first part is awaited here, so a switch that does
        not answer is a 503 before any byte is sent; one that fails later is a 503 too where
        the answer is built whole (a streamed answer that already went out is cut short
        instead: guard.py)."""
        parts = self._answered(switch, self.app.stream_flows(
            switch.dpid, table=table, cookie=cookie,
            write=None if writer is None else writer(switch)))
        return itertools.chain([next(parts)], parts)

    def _table_counts(self, switch, cookie=None):
        """{table: flows} of the switch, counted from the raw replies (a 503 as above)."""
        counts = collections.Counter()
        for part in self._answered(switch, self.app.stream_table_counts(switch.dpid,
                                                                        cookie=cookie)):
            counts.update(part)
        return dict(counts)

    def _flow_count(self, switch, cookie=None):
        """How many flows the switch holds (a 503 when it does not answer)."""
        try:
            return self.app.flow_count(switch.dpid, cookie=cookie)
        except Exception as exc:  # timeout, disconnected, switch gone
            raise RestError(503, 'switch %s did not answer the aggregate stats request: %s'
                            % (views.dpid_text(switch.dpid), exc))

    @staticmethod
    def _answered(switch, parts):
        try:
            yield from parts
        except Exception as exc:  # timeout, disconnected, undecodable, switch gone
            raise RestError(503, 'switch %s did not answer the flow-stats request: %s'
                            % (views.dpid_text(switch.dpid), exc))

    def _dumps(self, switches, table=None, cookie=None, writer=None):
        """(switch, parts) of each switch: the first switch's dump starts now (a 503 if it
        does not answer), the others' only when the answer reaches them."""
        first = (switches[0], self._parts(switches[0], table, cookie, writer))
        return itertools.chain([first], ((sw, self.app.stream_flows(
            sw.dpid, table=table, cookie=cookie,
            write=None if writer is None else writer(sw))) for sw in switches[1:]))

    @route('vxlan_vpc_switches', PREFIX + '/switches', methods=['GET'])
    @handles_errors
    def switches(self, req, **_):
        params = _params(req, {'dpid'})
        out = []
        for sw in self._switches(params):
            count = self._flow_count(sw, cookie=self.app.settings.flow_cookie)
            out.append(views.switch_view(sw, self.app.settings, self._vpcs(), count,
                                         self.app.tunnel_health()))
        return _json({'switches': out})

    @route('vxlan_vpc_flows', PREFIX + '/flows', methods=['GET'])
    @handles_errors
    def flows(self, req, **_):
        params = _params(req, {'dpid', 'table', 'cookie', 'format'})
        table = _int_param(params, 'table', 0, 254)
        cookie = _int_param(params, 'cookie', 0, MAX_COOKIE)
        fmt = params.get('format', 'json')
        if fmt not in ('json', 'text'):
            raise RestError(400, 'format=%r: use json or text' % fmt)
        switches = self._switches(params)
        if not switches:
            body = iter([b'' if fmt == 'text' else b'{"flows": [], "count": 0}\n'])
        else:
            if fmt == 'text':
                body = stream.flows_text(self._dumps(switches, table, cookie,
                                                     stream.text_writer), len(switches) > 1)
            else:
                body = stream.flows_json(self._dumps(switches, table, cookie,
                                                     stream.json_writer))
        return Response(content_type='text/plain' if fmt == 'text' else 'application/json',
                        charset='utf-8', app_iter=body)

    @route('vxlan_vpc_vpcs', PREFIX + '/vpcs', methods=['GET'])
    @handles_errors
    def vpcs(self, req, **_):
        params = _params(req, {'dpid'})
        switches = self._switches(params)
        cookie = self.app.settings.flow_cookie
        floods = {sw.dpid: views.flood_lists(self._dump(sw, tables.FLOOD_TO_TUN, cookie), cookie)
                  for sw in switches}
        return _json({'vpcs': views.vpcs_view(self._vpcs(), switches, floods)})

    @route('vxlan_vpc_macs', PREFIX + '/macs', methods=['GET'])
    @handles_errors
    def macs(self, req, **_):
        params = _params(req, {'dpid'})
        switches = self._switches(params)
        if not switches:
            return _json({'macs': [], 'count': 0})
        # Learned (learn_cookie) and populated from the registry (flow_cookie): one dump.
        dumps = self._dumps(switches, table=tables.UCAST_TO_TUN,
                            writer=stream.macs_writer(self.app.settings))
        return Response(content_type='application/json', charset='utf-8',
                        app_iter=stream.macs_json(dumps))

    @route('vxlan_vpc_tables', PREFIX + '/tables', methods=['GET'])
    @handles_errors
    def flow_counts(self, req, **_):
        params = _params(req, {'dpid'})
        out = []
        for sw in self._switches(params):
            # Counted from the raw replies as they arrive: nothing decoded.
            out += views.tables_view(sw.dpid, self._table_counts(sw))
        return _json({'tables': out})

    @route('vxlan_vpc_fleet', PREFIX + '/fleet', methods=['GET'])
    @handles_errors
    def fleet(self, req, **_):
        _params(req, ())
        if not self.app.settings.registry:
            return _json(views.fleet_view(None, None, None))
        agent = self.app.ports_agent
        if agent.fleet is None:
            raise RestError(503, 'the registry at %s has not been read yet'
                            % ','.join(self.app.settings.etcd_endpoints))
        return _json(views.fleet_view(agent.fleet, agent.fleet_revision,
                                      self.app.settings.node_name))

    @route('vxlan_vpc_tunnels', PREFIX + '/tunnels', methods=['GET'])
    @handles_errors
    def tunnels(self, req, **_):
        params = _params(req, {'dpid'})
        health, bfd = self.app.tunnel_health(), self.app.tunnel_bfd_status()
        return _json({'tunnels': [views.tunnel_view(sw.dpid, name, ofport, health, bfd)
                                  for sw in self._switches(params)
                                  for name, ofport in sorted(sw.tunnel_ports().items())]})


def chosen_switches(app, dpid_param):
    """The app's br-tun switches in dpid order, or the one ``dpid_param`` names (a 400 if
    it is not a dpid, a 404 if no such switch is connected)."""
    switches = sorted(app.br_tun_switches(), key=lambda sw: sw.dpid)
    if dpid_param is None:
        return switches
    try:
        dpid = numbers.parse_dpid(dpid_param)
    except ValueError:
        raise RestError(400, 'dpid=%r is not a datapath id (%s)'
                        % (dpid_param, numbers.DPID_FORMATS))
    chosen = [sw for sw in switches if sw.dpid == dpid]
    if not chosen:
        raise RestError(404, 'no connected %s with dpid %s (connected: %s)' % (
            app.settings.tun_bridge, views.dpid_text(dpid),
            ', '.join(views.dpid_text(sw.dpid) for sw in switches) or 'none'))
    return chosen


class NotFound(ControllerBase):
    """Registered after VxlanVpcRest: anything else under /vxlan-vpc/ gets a JSON error."""

    @route('vxlan_vpc_not_found', PREFIX + '/{path:.*}')
    @handles_errors
    def not_found(self, req, **_):
        known = [PREFIX + p for p in ENDPOINTS] + [METRICS]
        try:
            path = req.path
        except UnicodeDecodeError:
            raise RestError(400, 'the request path is not UTF-8 (after %-decoding)')
        if req.method != 'GET' and path.rstrip('/') in [k.rstrip('/') for k in known]:
            raise RestError(405, '%s %s: only GET is supported' % (req.method, path))
        raise RestError(404, 'no such resource %s (try %s)' % (path, ', '.join(known)))

    @route('vxlan_vpc_root', PREFIX)
    @handles_errors
    def root(self, req, **_):
        return self.not_found(req)


def register(wsgi, app):
    """Our routes on the process's WSGI application, and its server hardened (server.py).

    The app calls this once while ryu-manager instantiates apps; Ryu starts the server
    afterwards, so install() is in time. That server serves every REST app of the process.
    """
    from . import metrics, ui  # here: they and trace import this module's helpers
    from .trace import TraceRest
    wsgi.register(VxlanVpcRest, {APP_KEY: app})
    wsgi.register(TraceRest, {APP_KEY: app})
    wsgi.register(ui.WebPage)
    wsgi.register(NotFound)
    metrics.register(wsgi, app)
    server.install()
