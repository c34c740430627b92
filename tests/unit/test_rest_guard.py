"""Undecodable requests and crashing handlers give JSON errors, never a traceback.

Two layers, each tested alone: the WSGI guard in front of every app (rest.guard) and the
handlers themselves (rest.api), mounted on Ryu's real WSGIApplication with a stand-in app.
"""
import io
import json
import logging
import subprocess
import sys

import pytest

from ryu_vxlan_vpc.rest import guard


def environ(path, query='', method='GET'):
    """As eventlet builds it: PATH_INFO %-decoded as latin-1, QUERY_STRING raw."""
    return {'REQUEST_METHOD': method, 'PATH_INFO': path, 'RAW_PATH_INFO': path,
            'QUERY_STRING': query, 'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '8080',
            'SERVER_PROTOCOL': 'HTTP/1.1', 'wsgi.url_scheme': 'http',
            'wsgi.input': io.BytesIO(), 'wsgi.errors': io.StringIO()}


def call(app, env):
    got = {}

    def start_response(status, headers, exc_info=None):
        got['status'], got['headers'] = status, dict(headers)
    body = b''.join(app(env, start_response))
    return int(got['status'].split()[0]), got['headers'], body


def ok_app(env, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'fine']


def crashing_app(env, start_response):
    raise RuntimeError('secret detail of the code')


def crashing_late_app(env, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])

    def body():
        yield b'half'
        raise RuntimeError('while producing the body')
    return body()


@pytest.mark.parametrize('path, query', [
    ('/vxlan-vpc/\xff', ''),                      # GET /vxlan-vpc/%ff
    ('/vxlan-vpc/\xc3(', ''),                     # truncated UTF-8 sequence
    ('/vxlan-vpc/flows', 'table=%ff'),
    ('/vxlan-vpc/flows', 'table=\xff'),           # a raw byte, not %-encoded
    ('/vxlan-vpc/flows', '%ff=1'),
    ('/stats/flow/1', 'x=%e2%82'),                 # any app's path, not only ours
])
def test_guard_refuses_non_utf8_with_a_400(path, query):
    status, headers, body = call(guard.guard(ok_app), environ(path, query))
    assert status == 400 and headers['Content-Type'] == 'application/json'
    assert 'not UTF-8' in json.loads(body)['error']


@pytest.mark.parametrize('path, query', [
    ('/vxlan-vpc/caf\xc3\xa9', ''), ('/vxlan-vpc/flows', 'x=%c3%a9&y=\xc3\xa9'),
    ('/vxlan-vpc/flows', 'table=%25ff')])
def test_guard_passes_utf8(path, query):
    assert call(guard.guard(ok_app), environ(path, query))[0] == 200


def test_guard_turns_a_crash_into_a_json_500_without_traceback(caplog):
    with caplog.at_level(logging.ERROR, logger='ryu_vxlan_vpc.rest'):
        status, headers, body = call(guard.guard(crashing_app), environ('/vxlan-vpc/\xc3\xa9'))
    assert status == 500 and headers['Content-Type'] == 'application/json'
    assert json.loads(body) == {'error': 'internal error; the controller log has the details',
                                'status': 500}
    assert b'Traceback' not in body and b'RuntimeError' not in body
    assert 'Traceback' in caplog.text and "GET '/vxlan-vpc/\xc3\xa9'" in caplog.text


def test_a_streamed_body_stays_streamed_and_a_late_crash_is_logged_and_raised(caplog):
    """Once the status went out, the guard cannot answer 500 any more: it logs the crash and
    raises it again, so the server ends the connection without ending the chunked body and
    the client sees an incomplete answer (never a short one that looks whole)."""
    got = []
    body = guard.guard(crashing_late_app)(environ('/vxlan-vpc/flows'), lambda *a: got.append(a))
    assert not isinstance(body, list)           # not buffered: passed on as produced
    assert next(body) == b'half' and got[0][0] == '200 OK'
    with caplog.at_level(logging.ERROR, logger='ryu_vxlan_vpc.rest'):
        with pytest.raises(RuntimeError, match='while producing the body'):
            next(body)
    assert 'Traceback' in caplog.text and "GET '/vxlan-vpc/flows'" in caplog.text


def test_a_whole_body_is_passed_as_it_is():
    body = [b'fine']
    assert guard.guard(lambda env, sr: body)(environ('/vxlan-vpc/x'), None) is body


# Ryu's WSGI stack imports eventlet.wsgi, which would make other tests' plain HTTP servers
# green (see rest.limits): the handlers run in a child interpreter, all cases at once.
HANDLER_CHILD = r"""
import io, json, logging, sys, types
from ryu.app.wsgi import WSGIApplication
from webob import Request
from ryu_vxlan_vpc.rest import api

log = io.StringIO()
logging.getLogger('ryu_vxlan_vpc.rest').addHandler(logging.StreamHandler(log))


class FakeApp:
    settings = types.SimpleNamespace(tun_bridge='br-tun', flow_cookie=0x79)
    intent = None

    def __init__(self, fail):
        self.fail = fail

    def br_tun_switches(self):
        if self.fail:
            raise RuntimeError('secret detail of the code')
        return []


out = []
for env, fail in json.load(sys.stdin):
    env['wsgi.input'] = io.BytesIO()
    wsgi = WSGIApplication()
    wsgi.register(api.VxlanVpcRest, {api.APP_KEY: FakeApp(fail)})
    wsgi.register(api.NotFound)
    resp = Request(env).get_response(wsgi)
    out.append([resp.status_code, resp.content_type, resp.body.decode(), log.getvalue()])
json.dump(out, sys.stdout)
"""

HANDLER_CASES = [
    # path, query, app fails, status, words in the error
    ('/vxlan-vpc/\xff', '', False, 400, 'path is not UTF-8'),
    ('/vxlan-vpc/flows', 'table=%ff', False, 400, 'query string is not UTF-8'),
    ('/vxlan-vpc/switches', 'dpid=%ff', False, 400, 'query string is not UTF-8'),
    ('/vxlan-vpc/flows', 'table=1&table=2', False, 400, "'table' given more than once"),
    ('/vxlan-vpc/macs', 'dpid=zz', False, 400, "dpid='zz' is not a datapath id (16 hex "
                                               "digits, 0x-prefixed hex or decimal"),
    ('/vxlan-vpc/macs', 'dpid=0x1', False, 404, 'no connected br-tun with dpid '
                                                '0000000000000001'),
    ('/vxlan-vpc/switches', '', False, 200, None),
    ('/vxlan-vpc/switches', '', True, 500, 'internal error; the controller log has'),
]


@pytest.fixture(scope='module')
def handler_answers():
    cases = []
    for path, query, fail, _, _ in HANDLER_CASES:
        env = environ(path, query)
        del env['wsgi.input'], env['wsgi.errors']
        cases.append([env, fail])
    child = subprocess.run([sys.executable, '-c', HANDLER_CHILD], input=json.dumps(cases),
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


@pytest.mark.parametrize('index', range(len(HANDLER_CASES)))
def test_handlers_alone_never_500_on_bad_input(handler_answers, index):
    path, query, _, status, words = HANDLER_CASES[index]
    got, ctype, body, _ = handler_answers[index]
    assert (got, ctype) == (status, 'application/json'), body
    if words:
        assert words in json.loads(body)['error'], body
    assert 'secret' not in body and 'Traceback' not in body


def test_handler_crash_is_logged_with_the_raw_path(handler_answers):
    log = handler_answers[-1][3]
    assert "REST GET '/vxlan-vpc/switches' failed" in log and 'Traceback' in log
