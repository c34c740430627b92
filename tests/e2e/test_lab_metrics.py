"""End to end: GET /metrics on a real two-node registry lab, after a real ping.

Each node's ryu-manager serves /metrics on its own 127.0.0.1:8080, inside the node's
namespace. The values are checked against what the node's OVS holds (ovs-ofctl) and what
the ping made it learn; registry_connected against a real etcd killed and started again.
The tests run in file order on one lab.
"""
import collections
import os
import re
import signal
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from labrun import running_lab
from realenv import http_get, wait_for
from test_lab_registry import Fleet, ping, vm_ns
from ryu_vxlan_vpc import procs
from ryu_vxlan_vpc.lab import runtime

VNI, C2_VM = 0x22, '192.168.10.12'
URL = 'http://127.0.0.1:8080/metrics'


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory, nodes=2) as lab:
        yield Fleet(lab)


def scrape(lab, name):
    """{(name, sorted labels): value} of a node's /metrics, by prometheus_client's parser."""
    status, ctype, body = http_get(lab.node(name)['netns'], URL)
    assert (status, ctype) == (200, 'text/plain'), (status, body)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def values(samples, name, label):
    return {dict(labels)[label] if label else '': value
            for (n, labels), value in samples.items() if n == name}


def ofctl_counts(lab, name):
    flows = lab.flows(name)
    return {str(t): n for t, n in collections.Counter(
        int(re.search(r'table=(\d+)', f).group(1)) for f in flows).items()}


def test_after_a_ping_metrics_show_the_learned_mac_and_the_switch(lab):
    assert ping(vm_ns(lab, 'compute1', VNI), C2_VM, 5) == 5
    for name in ('compute1', 'compute2'):
        # Within the cache age (5 s) a scrape may show counts from before the ping.
        wait_for(lambda: values(scrape(lab, name), 'ryu_vxlan_vpc_learned_macs', 'vni')
                 .get('%#x' % VNI, 0) >= 1, 10, 'a learned MAC of VNI 0x22 on %s' % name)
        # Table 20 changes while learned flows come and go: compare until both agree.
        wait_for(lambda: {t: v for t, v in values(scrape(lab, name), 'ryu_vxlan_vpc_flows',
                                                  'table').items() if v}
                 == ofctl_counts(lab, name), 15, 'flow counts equal to ovs-ofctl on ' + name)
        samples = scrape(lab, name)
        assert list(values(samples, 'ryu_vxlan_vpc_switch_connected', None).values()) == [1]
        assert values(samples, 'ryu_vxlan_vpc_syncs_total', 'result')['ok'] >= 1
        assert samples[('ryu_vxlan_vpc_sync_seconds_count', ())] >= 1
        assert samples[('ryu_vxlan_vpc_registry_connected', ())] == 1
        print(name, {k: v for k, v in samples.items()
                     if k[0] in ('ryu_vxlan_vpc_learned_macs', 'ryu_vxlan_vpc_flows')})


def test_registry_connected_is_0_while_etcd_is_down(lab):
    rec = lab.rec
    os.kill(rec['registry']['pid'], signal.SIGKILL)
    t0 = time.monotonic()
    wait_for(lambda: not procs.alive(rec['registry']['pid'], rec['registry']['started']), 5,
             'etcd to die')
    wait_for(lambda: scrape(lab, 'compute2')[('ryu_vxlan_vpc_registry_connected', ())] == 0,
             15, 'registry_connected 0 with etcd dead')
    down = time.monotonic() - t0
    samples = scrape(lab, 'compute2')
    # The overlay keeps its last state: the switch is still connected and counted.
    assert list(values(samples, 'ryu_vxlan_vpc_switch_connected', None).values()) == [1]
    runtime.restart_registry(lab.lab, lab.rec)
    t1 = time.monotonic()
    for name in ('compute1', 'compute2'):
        wait_for(lambda: scrape(lab, name)[('ryu_vxlan_vpc_registry_connected', ())] == 1,
                 15, 'registry_connected 1 again on ' + name)
    print('registry_connected 0 %.1f s after etcd was killed, 1 again %.1f s after its '
          'restart' % (down, time.monotonic() - t1))
