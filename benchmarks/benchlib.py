"""What the benchmarks share (each is a script run from this directory, so it imports this
as a plain module): the root check, ryu-manager's memory, the app's own sync report, and a
fresh state dir for a lab."""
import json
import os
import tempfile

from ryu_vxlan_vpc.netns import http_get

SWITCHES = 'http://127.0.0.1:8080/vxlan-vpc/switches'


def require_root(what):
    if os.geteuid() != 0:
        raise SystemExit('run as root (%s)' % what)


def peak_rss_mib(pid):
    """The process's peak resident memory (VmHWM) in MiB; NaN once it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float('nan')


def last_sync(netns, timeout=60):
    """The app's last SyncReport as REST serves it (the first br-tun's), or None while it
    does not answer or has none: the data its log line is made from, not the line."""
    try:
        status, _, body = http_get(netns, SWITCHES, timeout=timeout)
    except OSError:
        return None
    switches = json.loads(body)['switches'] if status == 200 else []
    return switches[0]['last_sync'] if switches else None


def fresh_state_dir(name):
    """A path under /tmp that does not exist yet: `lab up` makes it itself (root's, 0700,
    with its marker) and refuses a directory it did not make."""
    path = tempfile.mkdtemp(prefix='bench-%s-' % name)
    os.rmdir(path)
    return path
