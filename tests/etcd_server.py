"""A real, private etcd for tests: 127.0.0.1 only, free ports, a fresh data dir.

``etcd_server()`` yields a running EtcdServer and always kills it and removes its data dir,
pass or fail. ``kill()`` + ``start()`` restart it on the same data dir and ports (an outage
that keeps the data). The ``etcd`` fixture wraps it for pytest.
"""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from realenv import require


def etcd_missing():
    for tool in ('etcd', 'etcdctl'):
        if shutil.which(tool) is None:
            return '%s not installed (apt-get install etcd-server etcd-client)' % tool
    return None


def require_etcd():
    require(etcd_missing())


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class EtcdServer:
    def __init__(self, root):
        self.root = root
        self.data_dir = os.path.join(root, 'data')
        self.log_path = os.path.join(root, 'etcd.log')
        self.client_port, self.peer_port = free_port(), free_port()
        self.proc = None

    @property
    def endpoint(self):
        return '127.0.0.1:%d' % self.client_port

    @property
    def url(self):
        return 'http://' + self.endpoint

    def argv(self):
        peer = 'http://127.0.0.1:%d' % self.peer_port
        return ['etcd', '--name', 'test', '--data-dir', self.data_dir,
                '--listen-client-urls', self.url, '--advertise-client-urls', self.url,
                '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
                '--initial-cluster', 'test=' + peer, '--log-level', 'warn']

    def start(self, timeout=15):
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.healthy():
                return self
            time.sleep(0.1)
        self.kill()
        raise RuntimeError('etcd did not become healthy on %s; its log:\n%s'
                           % (self.endpoint, self.log_tail()))

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + '/health', timeout=1) as resp:
                return json.loads(resp.read()).get('health') == 'true'
        except (OSError, ValueError):
            return False

    def kill(self):
        """SIGKILL, as a crash would: no clean shutdown."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def etcdctl(self, *args):
        return subprocess.run(['etcdctl', '--endpoints', self.url] + list(args),
                              env=dict(os.environ, ETCDCTL_API='3'), capture_output=True,
                              text=True, timeout=20, check=True).stdout

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, errors='replace') as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return '(no log)'


@contextlib.contextmanager
def etcd_server():
    root = tempfile.mkdtemp(prefix='ryu-vxlan-vpc-etcd-')
    server = EtcdServer(root)
    try:
        yield server.start()
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def etcd():
    """A running private etcd (EtcdServer); removed afterwards, pass or fail."""
    require_etcd()
    with etcd_server() as server:
        yield server
