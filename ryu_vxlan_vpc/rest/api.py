"""HTTP handlers for /vxlan-vpc/, served by ryu-manager's WSGI server (--wsapi-host/port).

Flows are always read from the switch (a flow-stats request), never from memory, and
rendered by flows.text, so learned flows and learn() itself print as ovs-ofctl does.
Every error is a JSON body {"error": ...} with a 4xx/5xx status; the app keeps running.
Undecodable input never gets here (guard.py answers it) but is refused here too, so the
handlers stay safe behind any server.
"""
import json
import logging

from ryu.app.wsgi import ControllerBase, route
from webob import Response

from ..flows import text
from ..pipeline import tables
from . import errors, params as numbers, server, views

LOG = logging.getLogger('ryu_vxlan_vpc.rest')

APP_KEY = 'vxlan_vpc_app'
PREFIX = '/vxlan-vpc'
MAX_COOKIE = (1 << 64) - 1


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
        switches = self.app.br_tun_switches()
        if params.get('dpid') is None:
            return sorted(switches, key=lambda sw: sw.dpid)
        try:
            dpid = numbers.parse_dpid(params['dpid'])
        except ValueError:
            raise RestError(400, 'dpid=%r is not a datapath id (%s)'
                            % (params['dpid'], numbers.DPID_FORMATS))
        chosen = [sw for sw in switches if sw.dpid == dpid]
        if not chosen:
            raise RestError(404, 'no connected %s with dpid %s (connected: %s)' % (
                self.app.settings.tun_bridge, views.dpid_text(dpid),
                ', '.join(views.dpid_text(sw.dpid) for sw in switches) or 'none'))
        return chosen

    def _vpcs(self):
        """This node's VPCs now (none while the registry has not been read)."""
        intent = self.app.intent
        return intent.vpcs if intent is not None else ()

    def _dump(self, switch, table=None, cookie=None):
        try:
            return self.app.dump_flows(switch.dpid, table=table, cookie=cookie)
        except Exception as exc:
            raise RestError(503, 'switch %s did not answer the flow-stats request: %s'
                            % (views.dpid_text(switch.dpid), exc))

    @route('vxlan_vpc_switches', PREFIX + '/switches', methods=['GET'])
    @handles_errors
    def switches(self, req, **_):
        params = _params(req, {'dpid'})
        out = []
        for sw in self._switches(params):
            count = len(self._dump(sw, cookie=self.app.settings.flow_cookie))
            out.append(views.switch_view(sw, self.app.settings, self._vpcs(), count))
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
        dumps = [(sw, self._dump(sw, table, cookie)) for sw in switches]
        if fmt == 'text':
            lines = []
            for sw, stats in dumps:
                if len(switches) > 1:
                    lines.append('dpid=%s:' % views.dpid_text(sw.dpid))
                lines += [' ' + text.render_stats(s) for s in stats]
            return Response(content_type='text/plain', charset='utf-8',
                            body=''.join(line + '\n' for line in lines).encode())
        flows = [views.flow_view(sw.dpid, s) for sw, stats in dumps for s in stats]
        return _json({'flows': flows, 'count': len(flows)})

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
        settings, out = self.app.settings, []
        for sw in self._switches(params):
            by_ofport = {no: name for name, no in sw.ports.items()}
            # Learned (learn_cookie) and populated from the registry (flow_cookie): one dump.
            for stats in self._dump(sw, table=tables.UCAST_TO_TUN):
                mac = views.mac_entry(stats, settings, by_ofport)
                if mac is not None:
                    mac['dpid'] = views.dpid_text(sw.dpid)
                    out.append(mac)
        return _json({'macs': out})


class NotFound(ControllerBase):
    """Registered after VxlanVpcRest: anything else under /vxlan-vpc/ gets a JSON error."""

    @route('vxlan_vpc_not_found', PREFIX + '/{path:.*}')
    @handles_errors
    def not_found(self, req, **_):
        known = ', '.join([PREFIX + p for p in ('/switches', '/flows', '/vpcs', '/macs')]
                          + ['/metrics'])
        try:
            path = req.path
        except UnicodeDecodeError:
            raise RestError(400, 'the request path is not UTF-8 (after %-decoding)')
        if req.method != 'GET' and path.rstrip('/') in known.split(', '):
            raise RestError(405, '%s %s: only GET is supported' % (req.method, path))
        raise RestError(404, 'no such resource %s (try %s)' % (path, known))

    @route('vxlan_vpc_root', PREFIX)
    @handles_errors
    def root(self, req, **_):
        return self.not_found(req)


def register(wsgi, app):
    """Our routes on the process's WSGI application, and its server hardened (server.py).

    The app calls this once while ryu-manager instantiates apps; Ryu starts the server
    afterwards, so install() is in time. That server serves every REST app of the process.
    """
    wsgi.register(VxlanVpcRest, {APP_KEY: app})
    wsgi.register(NotFound)
    from . import metrics  # here: rest/metrics.py imports this module's helpers
    metrics.register(wsgi, app)
    server.install()
