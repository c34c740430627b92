"""Timeouts and connection limits of the REST server (server.py), without eventlet.

Kept apart so tests can use them in-process: importing eventlet.wsgi rebinds the
attribute ``http.server`` of the ``http`` package to eventlet's green copy (its patcher
re-imports the module), which turns any plain HTTP server made afterwards green.

Why these numbers: REST listens on loopback by default, where a client has no excuse to
be slow, and 10 s is far above what a real client needs, yet holds an abusive idle
connection only briefly. MAX_CONNECTIONS bounds memory (a green thread each) and fds.
"""
import collections
import logging
import resource

LOG = logging.getLogger('ryu_vxlan_vpc.rest')

IDLE_TIMEOUT = 10      # s: waiting for a request line; also each read/write of a request
HEADERS_TIMEOUT = 10   # s: all headers, once the request line has arrived
DRAIN_SECONDS = 2      # s: reading a request body nobody wants before closing
DRAIN_BYTES = 1 << 20
MAX_CONNECTIONS = 4096
FD_RESERVE = 256       # descriptors left to the rest of ryu-manager (switches, OVSDB, etcd, logs)
MIN_CONNECTIONS = 16


def fd_limit_plan(soft, hard):
    """The soft RLIMIT_NOFILE to ask for: enough for MAX_CONNECTIONS, never above hard."""
    want = MAX_CONNECTIONS + FD_RESERVE
    if soft == resource.RLIM_INFINITY or soft >= want:
        return soft
    return want if hard == resource.RLIM_INFINITY else max(soft, min(hard, want))


def connection_cap(soft):
    """How many REST connections fit in ``soft`` descriptors next to the rest of the app."""
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, soft - FD_RESERVE))


def raise_fd_limit():
    """Raise this process's soft RLIMIT_NOFILE toward its hard limit; (before, after, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = fd_limit_plan(soft, hard)
    if target != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            LOG.warning('REST: could not raise the open-files soft limit from %d to %d: %s',
                        soft, target, exc)
            target = soft
    return soft, target, hard


class Connections:
    """Open client connections in accept order, and which one gives way at the cap.

    ``is_idle(conn)`` says whether a connection is waiting for a request (as opposed to
    having one read or answered); ``shutdown(conn)`` wakes its reader with EOF, after
    which its own thread closes it. Only idle connections are ever closed for room.
    """

    def __init__(self, cap, is_idle, shutdown):
        self.cap = cap
        self._is_idle, self._shutdown = is_idle, shutdown
        self._open = collections.OrderedDict()

    def __len__(self):
        return len(self._open)

    def add(self, conn):
        self._open[id(conn)] = conn

    def remove(self, conn):
        self._open.pop(id(conn), None)

    def full(self):
        return len(self._open) >= self.cap

    def shed_oldest_idle(self):
        """Close the oldest idle connection; False if every one is mid-request."""
        conn = next((c for c in self._open.values() if self._is_idle(c)), None)
        if conn is None:
            return False
        self.remove(conn)
        self._shutdown(conn)
        return True
