"""ryu-manager's REST server, made impossible to starve and unable to show a traceback.

Ryu serves every REST app of the process (ours, ofctl_rest, ...) through one
``ryu.app.wsgi.WSGIServer``, whose ``serve_forever`` (ryu.lib.hub) runs
``eventlet.wsgi.server(sock, app, log)`` with eventlet's defaults. On the lab those failed:
- no idle timeout and a pool of 1024 green threads: 1024 idle TCP connections block
  accept() and every other client waits for as long as they stay open;
- with the usual soft RLIMIT_NOFILE of 1024, accept() fails with EMFILE, eventlet's loop
  raises, the listening socket closes and REST is gone while ryu-manager runs on;
- ``debug=True``: the traceback of any exception is sent to the client.

``install()`` (the app calls it once, before ryu-manager starts the server) replaces that
``serve_forever`` with ``serve`` below. Ryu's WSGI stack is kept as it is (WSGIApplication,
routes, ControllerBase); what changes is how connections are accepted and timed out:
- a client has IDLE_TIMEOUT seconds to send a request line (the first, or the next one on
  a kept-alive connection) and HEADERS_TIMEOUT more for its headers (see limits.py),
  however it trickles them; every other read or write waits at most IDLE_TIMEOUT;
- at most ``cap`` connections are open (RLIMIT_NOFILE minus what the rest of ryu-manager
  needs); when a new one arrives at the cap, the oldest connection waiting idle for a
  request is closed to make room: idle clients can never lock the others out;
- accept() running out of descriptors frees one the same way instead of killing the loop;
- ``debug=False`` and the guard middleware (guard.py): no traceback reaches a client.
"""
import errno
import logging
import time

import eventlet
import eventlet.wsgi
from eventlet import greenio

from . import errors, guard
from .limits import (DRAIN_BYTES, DRAIN_SECONDS, HEADERS_TIMEOUT, IDLE_TIMEOUT, Connections,
                     connection_cap, raise_fd_limit)

LOG = logging.getLogger('ryu_vxlan_vpc.rest')

BACKLOG = 1024         # eventlet.listen's 50 drops SYNs under a burst of connects
NO_FD = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
RETRY_ACCEPT = {errno.ECONNABORTED, errno.EPROTO, errno.EINTR, errno.EAGAIN}


class Protocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP handling with whole-phase deadlines and JSON error answers."""

    def _read_request_line(self):
        # eventlet's keepalive timeout bounds each recv(); this bounds the whole line, so
        # a client sending a byte every few seconds is closed as well.
        with eventlet.Timeout(IDLE_TIMEOUT, False):
            return super()._read_request_line()
        self.close_connection = 1
        return ''

    def parse_request(self):
        with eventlet.Timeout(HEADERS_TIMEOUT, False):
            return super().parse_request()
        self.close_connection = 1
        return False

    def handle_one_response(self):
        # Our API reads no bodies. eventlet would read and discard one after the answer to
        # keep the connection, however slowly it comes: answer and close instead.
        has_body = (self.headers.get('content-length', '0').strip() != '0'
                    or self.headers.get('transfer-encoding') is not None)
        if has_body:
            self.close_connection = 1
        try:
            super().handle_one_response()
        finally:
            if has_body:
                self._drain()

    def _drain(self):
        """Read (within limits) what the client still sends before the socket is closed:
        closing with unread input makes the kernel send a reset, which can destroy the
        answer before the client has read it."""
        left = DRAIN_BYTES
        with eventlet.Timeout(DRAIN_SECONDS, False):
            try:
                while left > 0:
                    chunk = self.rfile.read1(min(left, 65536))
                    if not chunk:
                        break
                    left -= len(chunk)
            except (OSError, ValueError):
                pass

    def send_error(self, code, message=None, explain=None):
        """http.server's errors (bad request line, HTTP version, too many headers) as JSON."""
        reason = self.responses.get(code, ('Error',))[0]
        if self.request_version == 'HTTP/0.9':
            # http.server leaves 0.9 when it cannot parse the version, and a 0.9 answer is
            # the body alone; nobody speaks 0.9 any more: give every error a status line.
            self.request_version = 'HTTP/1.0'
        payload = errors.body(code, message or reason)
        self.log_error('code %d, message %s', code, message or reason)
        self.send_response(code, reason)
        self.send_header('Connection', 'close')
        self.send_header('Content-Type', errors.CONTENT_TYPE)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(payload)
        self.close_connection = 1

    def version_string(self):
        return 'ryu-vxlan-vpc'  # not http.server's, which names the Python version

    def log_message(self, format, *args):
        # http.server writes these to stderr; keep them in the controller's log.
        LOG.info('REST %s: %s', self.client_address[0], format % args)


_BUSY = (b'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n'
         b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s')


def _refuse(sock):
    """Every connection is mid-request: tell the newcomer to come back, without waiting."""
    payload = errors.body(503, 'too many requests in progress; retry shortly')
    try:
        sock.settimeout(0)
        sock.send(_BUSY % (len(payload), payload))
    except OSError:
        pass
    greenio.shutdown_safe(sock)
    sock.close()


def _closed(_thread, conns, conn):
    # As eventlet.wsgi.server's own _clean_connection, plus our table.
    conns.remove(conn)
    conn[2] = eventlet.wsgi.STATE_CLOSE
    greenio.shutdown_safe(conn[1])
    conn[1].close()


class _Every:
    """True at most once per ``seconds``: keeps a flood from flooding the log too."""

    def __init__(self, seconds):
        self.seconds, self.last = seconds, -seconds

    def __call__(self):
        now = time.monotonic()
        if now - self.last >= self.seconds:
            self.last = now
            return True
        return False


def serve(sock, app, log, cap):
    """Accept and serve forever (replaces eventlet.wsgi.server's loop, see the module doc)."""
    server = eventlet.wsgi.Server(
        sock, sock.getsockname(), guard.guard(app), log, protocol=Protocol,
        keepalive=IDLE_TIMEOUT, socket_timeout=IDLE_TIMEOUT, debug=False)
    # eventlet keeps each connection's state in [address, socket, state]: STATE_IDLE while
    # it waits for a request line, STATE_REQUEST while one is read or answered.
    conns = Connections(cap, lambda conn: conn[2] == eventlet.wsgi.STATE_IDLE,
                        lambda conn: greenio.shutdown_safe(conn[1]))
    warn_fd, warn_shed = _Every(10), _Every(10)
    while True:
        try:
            client, addr = sock.accept()
        except OSError as exc:
            if exc.errno in NO_FD:
                if warn_fd():
                    LOG.warning('REST: out of file descriptors with %d connections open (%s); '
                                'closing idle ones', len(conns), exc)
                conns.shed_oldest_idle()
                eventlet.sleep(0.05)  # let the closed connection's thread release its fd
                continue
            if exc.errno in RETRY_ACCEPT:
                continue
            raise
        client.settimeout(IDLE_TIMEOUT)
        if conns.full():
            if warn_shed():
                LOG.warning('REST: %d connections open (the cap); closing the oldest idle '
                            'one for each new one', len(conns))
            if not conns.shed_oldest_idle():
                _refuse(client)
                continue
            eventlet.sleep(0)  # lets the shed connection's thread close its descriptor
        conn = [addr, client, eventlet.wsgi.STATE_IDLE]
        conns.add(conn)
        eventlet.spawn(server.process_request, conn).link(_closed, conns, conn)


def _serve_forever(self):
    """Stands in for ryu.lib.hub.WSGIServer.serve_forever on Ryu's REST server."""
    from ryu.lib import hub
    before, soft, hard = raise_fd_limit()
    cap = connection_cap(soft)
    raised = ('raised from %d' % before) if soft != before else 'unchanged'
    LOG.info('REST server: up to %d connections, idle ones closed after %d s; open-files '
             'soft limit %d (%s, hard limit %d)', cap, IDLE_TIMEOUT, soft, raised, hard)
    try:
        self.server.listen(BACKLOG)  # Linux takes a new backlog on a listening socket
    except OSError:
        pass
    serve(self.server, self.handle, hub.LoggingWrapper(), cap)


def install():
    """Make ryu-manager's REST server run ``serve``; idempotent. Must run before
    ryu.app.wsgi.start_service starts it, i.e. while apps are instantiated."""
    from ryu.app import wsgi as ryu_wsgi
    if ryu_wsgi.WSGIServer.serve_forever is not _serve_forever:
        ryu_wsgi.WSGIServer.serve_forever = _serve_forever
