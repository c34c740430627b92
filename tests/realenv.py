"""Helpers shared by tests that drive real OVS, ryu-manager and namespaces."""
import os
import shutil
import subprocess
import sys
import time

import pytest

# CI sets this so that a missing privilege or package fails the run instead of skipping.
REQUIRE_REAL = os.environ.get('RYU_VXLAN_VPC_REQUIRE_REAL') == '1'
BIN = os.path.dirname(sys.executable)


def real_env_missing():
    if os.geteuid() != 0:
        return 'needs root (network namespaces, ovs-vswitchd)'
    for tool in ('ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'ip'):
        if shutil.which(tool) is None:
            return '%s not installed (make system-deps)' % tool
    if not os.path.exists(os.path.join(BIN, 'ryu-manager')):
        return 'ryu-manager not installed next to %s (make install)' % sys.executable
    return None


def require_real():
    why = real_env_missing()
    if why:
        if REQUIRE_REAL:
            pytest.fail('real environment required but missing: ' + why)
        pytest.skip(why)


def wait_for(predicate, timeout, what, interval=0.2):
    """Poll ``predicate`` until it returns a truthy value; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s (last: %r)' % (timeout, what, last))


class RyuManager:
    """A real ``ryu-manager ... ryu_vxlan_vpc.app`` inside a network namespace."""

    def __init__(self, netns, config_file, log_file, ofp_port=6633, extra=()):
        self.argv = ['ip', 'netns', 'exec', netns, os.path.join(BIN, 'ryu-manager'),
                     '--config-file', config_file, '--ofp-tcp-listen-port', str(ofp_port),
                     *extra, 'ryu_vxlan_vpc.app']
        self.log_file = log_file
        self.proc = None

    def start(self):
        with open(self.log_file, 'ab') as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        return self

    def log(self):
        with open(self.log_file, errors='replace') as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


_CLONE_NEWNET = 0x40000000


class inside_netns:
    """Run the enclosed code (this thread only) inside network namespace ``name``.

    Sockets opened inside keep that namespace, so plain urllib reaches a server bound to
    the namespace's own 127.0.0.1. Python 3.11 has no os.setns, hence ctypes.
    """

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        import ctypes
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
            import ctypes
            err = ctypes.get_errno()
            raise OSError(err, 'setns: %s' % os.strerror(err))


def http_get(netns, url, timeout=30):
    """(status, content type, body) of a real HTTP GET made from inside ``netns``."""
    import urllib.error
    import urllib.request
    with inside_netns(netns):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, resp.headers.get_content_type(), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get_content_type(), exc.read().decode()
