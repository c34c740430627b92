"""GET /metrics on the app's REST port: Prometheus text exposition (ryu_vxlan_vpc.metrics).

Thin: the metrics are built by ``ryu_vxlan_vpc.metrics`` from a narrow view of the app;
this serves them, GET only, with errors as JSON like the rest of the API.
"""
from eventlet.semaphore import Semaphore
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from ryu.app.wsgi import ControllerBase, route
from webob import Response

from ..metrics import AppView, Metrics
from .api import METRICS, RestError, _params, handles_errors

METRICS_KEY = 'vxlan_vpc_metrics'
PATH = METRICS


class MetricsRest(ControllerBase):
    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.source = data[METRICS_KEY]

    # Every method reaches the handler, so that anything but GET gets a JSON 405, not a 404.
    @route('vxlan_vpc_metrics', PATH)
    @handles_errors
    def metrics(self, req, **_):
        if req.method != 'GET':
            raise RestError(405, '%s %s: only GET is supported' % (req.method, PATH))
        _params(req, ())
        # A flow dump in here is a green blocking call: other requests and the switches are
        # served meanwhile.
        body = generate_latest(self.source.registry)
        response = Response(body=body)
        response.headers['Content-Type'] = CONTENT_TYPE_LATEST
        return response


def register(wsgi, app):
    """/metrics on the process's WSGI application; the metrics follow the app's syncs."""
    # A green lock, said explicitly: a scrape waiting on another one's flow dump must yield
    # to the event loop, not block it, whether or not threading is monkey-patched
    # (ryu-manager patches it, except with --enable-debugger).
    metrics = Metrics(AppView(app), lock=Semaphore)
    app.sync_observers.append(metrics.observe_sync)
    wsgi.register(MetricsRest, {METRICS_KEY: metrics})
    return metrics
