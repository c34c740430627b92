"""The metrics collector over a fake view of the app: names, labels, what is absent, the
flow-dump cache, and the exposition parsed back with prometheus_client's own parser.

The real switch and ryu-manager are in tests/integration/test_metrics_real_switch.py and
tests/e2e/test_lab_metrics.py; here the view is a stand-in so every rule can be reached.
"""
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ryu_vxlan_vpc import metrics as metrics_mod
from ryu_vxlan_vpc.config import Settings
from ryu_vxlan_vpc.flows.model import (FieldRef, Flow, FlowStats, Load, Match, Output,
                                       Resubmit, SetTunnel)
from ryu_vxlan_vpc.metrics import FLOW_CACHE_SECONDS, Metrics, SwitchFacts
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.sync_report import SyncReport

SETTINGS = Settings('172.21.12.163', ('172.21.12.8',), (Vpc(0x22, 12),))
DPID, OTHER = 0x10, 0x20
TUNNEL = 'vxlan-ac150c08'   # 172.21.12.8


def flow(table, cookie=SETTINGS.flow_cookie, **kw):
    return FlowStats(Flow(table, kw.pop('priority', 1), Match(**kw), (Resubmit(22),),
                          cookie=cookie))


def learned(mac, vni, port=8):
    return FlowStats(Flow(20, 1, Match(vlan_tci=(12, 0x0fff), dl_dst=mac),
                          (Load(0, FieldRef('NXM_OF_VLAN_TCI')),
                           Load(vni, FieldRef('NXM_NX_TUN_ID')), Output(port)),
                          cookie=SETTINGS.learn_cookie, hard_timeout=300))


def populated(mac, vni):
    """An l2population entry: in table 20 but not learned."""
    return FlowStats(Flow(20, 2, Match(dl_vlan=12, dl_dst=mac), (SetTunnel(vni), Output(8)),
                          cookie=SETTINGS.flow_cookie))


class FakeView:
    settings = SETTINGS

    def __init__(self):
        self.switches_now = [SwitchFacts(DPID, {'ok': 3, 'failed': 1}, 2, {TUNNEL: 8,
                                                                          'vxlan-01': 9})]
        self.flows = {DPID: [flow(0, in_port=1), flow(0, in_port=8), flow(20),
                             learned('0c:eb:1e:c1:ff:8c', 0x22), learned('0c:eb:1e:c1:ff:8d',
                                                                          0x22),
                             learned('0c:eb:1e:c1:ff:8e', 0x23), populated('fa:16:3e:0:0:2',
                                                                           0x22),
                             flow(30, cookie=0x5)]}
        self.dumped = []
        self.registry = None
        self.health = None
        self.fail = False

    def switches(self):
        return list(self.switches_now)

    def dump_flows(self, dpid):
        self.dumped.append(dpid)
        if self.fail:
            raise TimeoutError('no complete flow-stats reply within 120s')
        return self.flows[dpid]

    def vnis(self):
        return [0x22, 0x24]

    def registry_connected(self):
        return self.registry

    def tunnel_health(self):
        return self.health


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def scrape(metrics):
    """{(name, labels as a sorted tuple): value}, parsed as Prometheus would."""
    text = generate_latest(metrics.registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def names(samples):
    return {name for name, _ in samples}


def test_every_metric_with_its_labels_and_values():
    view = FakeView()
    view.registry, view.health = True, {TUNNEL: 'up', 'vxlan-01': 'down'}
    m = Metrics(view, clock=Clock())
    m.observe_sync(SwitchFacts(DPID, {}, 0, {}), SyncReport(DPID, 13, 13, 0, 0, 0, 'x',
                                                            0.004, 0.0), None)
    s = scrape(m)
    d = ('dpid', '0000000000000010')
    assert s[('ryu_vxlan_vpc_switch_connected', (d,))] == 1
    assert s[('ryu_vxlan_vpc_flows', (d, ('table', '0')))] == 2
    assert s[('ryu_vxlan_vpc_flows', (d, ('table', '20')))] == 5
    assert s[('ryu_vxlan_vpc_flows', (d, ('table', '30')))] == 1   # another tool's flow
    assert s[('ryu_vxlan_vpc_flows', (d, ('table', '22')))] == 0   # read, and empty
    # Learned only (the l2population entry is not), per VNI in hex; a VPC with none is 0.
    assert s[('ryu_vxlan_vpc_learned_macs', (d, ('vni', '0x22')))] == 2
    assert s[('ryu_vxlan_vpc_learned_macs', (d, ('vni', '0x23')))] == 1
    assert s[('ryu_vxlan_vpc_learned_macs', (d, ('vni', '0x24')))] == 0
    assert s[('ryu_vxlan_vpc_syncs_total', (d, ('result', 'ok')))] == 3
    assert s[('ryu_vxlan_vpc_syncs_total', (d, ('result', 'failed')))] == 1
    assert s[('ryu_vxlan_vpc_flows_repaired_total', (d,))] == 2
    assert s[('ryu_vxlan_vpc_sync_seconds_count', ())] == 1
    assert s[('ryu_vxlan_vpc_sync_seconds_bucket', (('le', '0.005'),))] == 1
    assert s[('ryu_vxlan_vpc_sync_seconds_bucket', (('le', '0.0025'),))] == 0
    assert s[('ryu_vxlan_vpc_registry_connected', ())] == 1
    assert s[('ryu_vxlan_vpc_tunnel_up', (d, ('port', TUNNEL), ('remote_ip', '172.21.12.8')))] == 1
    assert s[('ryu_vxlan_vpc_tunnel_up', (d, ('port', 'vxlan-01'), ('remote_ip', '')))] == 0


def test_unknown_is_absent_never_zero():
    view = FakeView()       # no registry, no tunnel_health data, no sync yet
    s = scrape(Metrics(view, clock=Clock()))
    assert not names(s) & {'ryu_vxlan_vpc_registry_connected', 'ryu_vxlan_vpc_tunnel_up'}
    assert s[('ryu_vxlan_vpc_sync_seconds_count', ())] == 0
    view.health = {TUNNEL: 'no-bfd'}   # data, but nothing to say about vxlan-01 or TUNNEL
    assert 'ryu_vxlan_vpc_tunnel_up' not in names(scrape(Metrics(view, clock=Clock())))
    view.health = {'vxlan-01': 'up'}
    s = scrape(Metrics(view, clock=Clock()))
    assert [k for k in s if k[0] == 'ryu_vxlan_vpc_tunnel_up'] == [
        ('ryu_vxlan_vpc_tunnel_up', (('dpid', '0000000000000010'), ('port', 'vxlan-01'),
                                     ('remote_ip', '')))]


def test_tunnel_health_that_fails_leaves_tunnel_up_absent_and_the_rest_served():
    view = FakeView()

    def broken():
        raise ConnectionError('OVSDB went away')
    view.tunnel_health = broken
    s = scrape(Metrics(view, clock=Clock()))
    assert 'ryu_vxlan_vpc_tunnel_up' not in names(s)
    assert s[('ryu_vxlan_vpc_switch_connected', (('dpid', '0000000000000010'),))] == 1


def test_registry_connected_follows_the_view():
    view = FakeView()
    m = Metrics(view, clock=Clock())
    view.registry = False
    assert scrape(m)[('ryu_vxlan_vpc_registry_connected', ())] == 0
    view.registry = True
    assert scrape(m)[('ryu_vxlan_vpc_registry_connected', ())] == 1


def test_a_switch_that_left_is_0_and_its_flow_counts_absent():
    view, clock = FakeView(), Clock()
    m = Metrics(view, clock=clock)
    m.observe_sync(SwitchFacts(OTHER, {}, 0, {}), None, RuntimeError('refused'))
    s = scrape(m)
    assert s[('ryu_vxlan_vpc_switch_connected', (('dpid', '0000000000000020'),))] == 0
    view.switches_now = []
    s = scrape(m)
    assert s[('ryu_vxlan_vpc_switch_connected', (('dpid', '0000000000000010'),))] == 0
    assert not names(s) & {'ryu_vxlan_vpc_flows', 'ryu_vxlan_vpc_learned_macs',
                           'ryu_vxlan_vpc_syncs_total', 'ryu_vxlan_vpc_flows_repaired_total'}


def test_a_second_scrape_within_the_cache_age_does_not_dump():
    view, clock = FakeView(), Clock()
    m = Metrics(view, clock=clock)
    scrape(m)
    view.flows[DPID] = view.flows[DPID][:1]
    clock.now += FLOW_CACHE_SECONDS - 0.1
    assert scrape(m)[('ryu_vxlan_vpc_flows', (('dpid', '0000000000000010'), ('table', '0')))] == 2
    assert view.dumped == [DPID]
    clock.now += 0.2
    assert scrape(m)[('ryu_vxlan_vpc_flows', (('dpid', '0000000000000010'), ('table', '0')))] == 1
    assert view.dumped == [DPID, DPID]


def test_a_slow_dump_is_kept_longer():
    view, clock = FakeView(), Clock()

    def slow_dump(dpid, fast=view.dump_flows):
        clock.now += 2.0     # a 2 s dump: kept 20 s
        return fast(dpid)
    view.dump_flows = slow_dump
    m = Metrics(view, clock=clock)
    scrape(m)
    clock.now += 19
    scrape(m)
    assert len(view.dumped) == 1
    clock.now += 2
    scrape(m)
    assert len(view.dumped) == 2


def test_a_switch_that_does_not_answer_has_no_flow_counts_and_the_scrape_still_works():
    view = FakeView()
    view.fail = True
    s = scrape(Metrics(view, clock=Clock()))
    assert not names(s) & {'ryu_vxlan_vpc_flows', 'ryu_vxlan_vpc_learned_macs'}
    assert s[('ryu_vxlan_vpc_switch_connected', (('dpid', '0000000000000010'),))] == 1


def test_buckets_span_a_13_flow_sync_to_a_200k_flow_sync():
    buckets = metrics_mod.SYNC_SECONDS_BUCKETS
    assert buckets == tuple(sorted(buckets))
    assert buckets[0] <= 0.002 and buckets[-1] >= 20
