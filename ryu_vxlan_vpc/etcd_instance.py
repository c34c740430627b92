"""A private etcd (Debian's ``etcd`` 3.4) for the lab, in its own network namespace.

Like ``ovs_instance``: its data directory is ours alone, the process is identified by pid
*and* start time, and nothing here knows our key layout.
"""
import os
import urllib.error
import urllib.request

from . import procs
from .netns import inside_netns
from .shell import in_netns

ETCD = 'etcd'
CLIENT_PORT = 2379
PEER_PORT = 2380


class EtcdInstance:
    def __init__(self, data_dir, netns, ip, port=CLIENT_PORT):
        self.data_dir, self.netns, self.ip, self.port = data_dir, netns, ip, port

    @property
    def endpoint(self):
        """HOST:PORT as the registry options and the fleet CLI take it."""
        return '%s:%d' % (self.ip, self.port)

    def argv(self):
        # Clients on the underlay address and on the namespace's loopback; the peer URL
        # is loopback only: a single-member cluster talks to nobody.
        clients = 'http://%s:%d,http://127.0.0.1:%d' % (self.ip, self.port, self.port)
        return in_netns(self.netns, [
            ETCD, '--name', 'lab', '--data-dir', self.data_dir,
            '--listen-client-urls', clients,
            '--advertise-client-urls', 'http://%s:%d' % (self.ip, self.port),
            '--listen-peer-urls', 'http://127.0.0.1:%d' % PEER_PORT,
            '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % PEER_PORT,
            '--initial-cluster', 'lab=http://127.0.0.1:%d' % PEER_PORT])

    def start(self, log_path):
        """(pid, start time) of the new etcd; its output goes to ``log_path``."""
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        return procs.spawn(self.argv(), log_path)

    def healthy(self):
        """Whether etcd answers /health with health true (asked inside its namespace)."""
        url = 'http://127.0.0.1:%d/health' % self.port
        try:
            with inside_netns(self.netns):
                with urllib.request.urlopen(url, timeout=2) as resp:
                    return b'"true"' in resp.read()
        except (OSError, urllib.error.URLError):
            return False
