"""Entering a network namespace from Python, for one thread at a time."""
import ctypes
import os
import urllib.error
import urllib.request

_CLONE_NEWNET = 0x40000000


class inside_netns:
    """Run the enclosed code (this thread only) inside network namespace ``name``.

    Sockets opened inside keep that namespace, so plain urllib reaches a server bound to
    the namespace's own 127.0.0.1. Python 3.11 has no os.setns, hence ctypes.
    """

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._home = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        target = os.open('/run/netns/%s' % self.name, os.O_RDONLY)
        try:
            self._setns(target)
        finally:
            os.close(target)
        return self

    def __exit__(self, *exc):
        try:
            self._setns(self._home)
        finally:
            os.close(self._home)

    def _setns(self, fd):
        if self._libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, 'setns: %s' % os.strerror(err))


def http_get(netns, url, timeout=30):
    """(status, content type, body) of a real HTTP GET made from inside ``netns``."""
    with inside_netns(netns):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, resp.headers.get_content_type(), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get_content_type(), exc.read().decode()
