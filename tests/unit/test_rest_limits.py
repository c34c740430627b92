"""The REST server's descriptor budget and which connection gives way at the cap.

In-process and eventlet-free (rest.limits): see that module for why.
"""
import resource

import pytest

from ryu_vxlan_vpc.rest import limits

INF = resource.RLIM_INFINITY
WANT = limits.MAX_CONNECTIONS + limits.FD_RESERVE


@pytest.mark.parametrize('soft, hard, planned', [
    (1024, 524288, WANT),      # a service's usual limits: raised to what the cap needs
    (1024, 2048, 2048),        # only up to the hard limit
    (1024, 1024, 1024),        # nothing to raise
    (1024, INF, WANT),
    (65536, 524288, 65536),    # already enough: never lowered
    (INF, INF, INF),
])
def test_fd_limit_plan(soft, hard, planned):
    assert limits.fd_limit_plan(soft, hard) == planned


@pytest.mark.parametrize('soft, cap', [
    (1024, 1024 - limits.FD_RESERVE), (WANT, limits.MAX_CONNECTIONS),
    (1 << 20, limits.MAX_CONNECTIONS), (INF, limits.MAX_CONNECTIONS),
    (100, limits.MIN_CONNECTIONS)])
def test_connection_cap_leaves_room_for_the_rest_of_the_app(soft, cap):
    assert limits.connection_cap(soft) == cap


def test_timeouts_within_the_issue_bound():
    assert 0 < limits.IDLE_TIMEOUT <= 30 and 0 < limits.HEADERS_TIMEOUT <= 30


def test_the_oldest_idle_connection_makes_room_never_one_mid_request():
    shut = []
    table = limits.Connections(3, lambda c: c['idle'], shut.append)
    first_busy, old_idle, young_idle = {'idle': False}, {'idle': True}, {'idle': True}
    for conn in (first_busy, old_idle, young_idle):
        table.add(conn)
    assert table.full()
    assert table.shed_oldest_idle()
    assert shut == [old_idle]
    assert len(table) == 2 and not table.full()
    young_idle['idle'] = False  # a request arrived on it meanwhile
    assert not table.shed_oldest_idle()
    assert shut == [old_idle] and len(table) == 2
    table.remove(first_busy)
    assert len(table) == 1
