"""Helpers shared by tests that drive real OVS, ryu-manager and namespaces."""
import os
import shutil
import sys

import pytest

# Re-exported: the package owns these so the lab and the benchmarks share them.
from ryu_vxlan_vpc.netns import http_get, inside_netns  # noqa: F401
from ryu_vxlan_vpc.procs import poll
from ryu_vxlan_vpc.ryu_process import RyuManager  # noqa: F401

# CI sets this so that a missing privilege or package fails the run instead of skipping.
REQUIRE_REAL = os.environ.get('RYU_VXLAN_VPC_REQUIRE_REAL') == '1'
BIN = os.path.dirname(sys.executable)


def real_env_missing():
    if os.geteuid() != 0:
        return 'needs root (network namespaces, ovs-vswitchd)'
    for tool in ('ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'ip', 'etcd'):
        if shutil.which(tool) is None:
            return '%s not installed (make system-deps)' % tool
    if not os.path.exists(os.path.join(BIN, 'ryu-manager')):
        return 'ryu-manager not installed next to %s (make install)' % sys.executable
    return None


def require(why):
    """Skip for ``why`` (a missing part of the real environment), or fail in CI."""
    if why:
        if REQUIRE_REAL:
            pytest.fail('real environment required but missing: ' + why)
        pytest.skip(why)


def require_real():
    require(real_env_missing())


def wait_for(predicate, timeout, what, interval=0.2):
    """Poll ``predicate`` until it returns a truthy value; fail naming ``what``."""
    last = poll(predicate, timeout, interval)
    if not last:
        raise AssertionError('timed out after %ss waiting for %s (last: %r)'
                             % (timeout, what, last))
    return last
