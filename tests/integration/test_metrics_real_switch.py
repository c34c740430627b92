"""GET /metrics over real HTTP from a real ryu-manager driving a real (userspace) OVS.

The article's compute1 br-tun; OVS itself executes table 10's learn() (ofproto/trace
-generate), so the learned-MAC gauge counts a genuinely learned flow. The flow counts are
compared with ovs-ofctl's own dump, and the flow-stats requests a scrape costs are counted
where they arrive: in ovs-vswitchd's log of the OpenFlow messages it receives.
"""
import collections
import json
import re
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from article_node import ARTICLE_COMPUTE1, COMPUTE1_CONF, OFP_PORT, build_article_br_tun
from realenv import RyuManager, inside_netns, wait_for
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.metrics import FLOW_CACHE_SECONDS

URL = 'http://127.0.0.1:8080/metrics'
DPID = None   # read from OVS
VM_MAC = '0c:eb:1e:c1:ff:8c'


def request(netns, url=URL, method='GET'):
    """(status, Content-Type header, body) of a real HTTP request made inside ``netns``."""
    with inside_netns(netns):
        req = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.headers['Content-Type'], resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers['Content-Type'], exc.read().decode()


def scrape(node):
    """{(name, sorted labels): value}, parsed by prometheus_client's own parser."""
    status, ctype, body = request(node.netns)
    assert (status, ctype) == (200, CONTENT_TYPE_LATEST), (status, ctype, body)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def by_name(samples, name):
    return {dict(labels).get('table') or dict(labels).get('vni') or dict(labels).get('result')
            or '': value for (n, labels), value in samples.items() if n == name}


def ofctl_counts(ovs):
    """{table: flows} from ovs-ofctl dump-flows, the reference."""
    return collections.Counter(int(re.search(r'table=(\d+)', line).group(1))
                               for line in text.parse_dump(ovs.ofctl('dump-flows', 'br-tun')))


def flow_stats_requests(ovs):
    """Flow-stats requests ovs-vswitchd received, from its vconn log (which does not say
    more than that: the test makes sure no sync ran meanwhile)."""
    with open(ovs.rundir + '/ovs-vswitchd.log') as f:
        return [line for line in f if 'received: OFPST_FLOW request' in line]


def controller_for_metrics(node, tmp_path, resync_interval):
    """compute1's br-tun, ryu-manager (REST on 8080) with drift audits every
    ``resync_interval`` s, ovs-vswitchd logging every OpenFlow message it receives."""
    build_article_br_tun(node)
    node.appctl('vlog/set', 'vconn:file:dbg')
    conf = tmp_path / 'compute1.conf'
    conf.write_text(COMPUTE1_CONF.read_text() + 'resync_interval = %d\n' % resync_interval)
    ryu = RyuManager(node.netns, str(conf), str(tmp_path / 'ryu.log'), OFP_PORT,
                     extra=['--wsapi-port', '8080'])
    ryu.start()
    try:
        article = sorted(text.parse_dump(ARTICLE_COMPUTE1.read_text()))
        wait_for(lambda: sorted(text.parse_dump(node.ofctl('dump-flows', 'br-tun'))) == article,
                 30, 'the article pipeline')
        wait_for(lambda: _answers(node), 30, 'the REST API')
        node.dpid = '%016x' % int(node.vsctl('get', 'bridge', 'br-tun', 'datapath_id')
                                  .strip().strip('"'), 16)
        yield node
    finally:
        ryu.stop()
        print(ryu.log()[-3000:])


@pytest.fixture
def metrics_node(node, tmp_path):
    """Audits every second: drift is repaired at once."""
    yield from controller_for_metrics(node, tmp_path, 1)


@pytest.fixture
def quiet_node(node, tmp_path):
    """Audits every 60 s: no sync reads flows during the test unless something changes."""
    yield from controller_for_metrics(node, tmp_path, 60)


def _answers(node):
    try:
        return request(node.netns)[0] == 200
    except OSError:
        return False


def test_metrics_are_what_the_switch_holds(metrics_node):
    node, d = metrics_node, ('dpid', metrics_node.dpid)
    node.appctl('ofproto/trace', 'br-tun',
                'in_port=8,tun_id=0x22,dl_src=%s,dl_dst=ff:ff:ff:ff:ff:ff' % VM_MAC, '-generate')
    node.ofctl('del-flows', 'br-tun', 'table=22')        # drift: the audit puts it back
    wait_for(lambda: by_name(scrape(node), 'ryu_vxlan_vpc_flows_repaired_total').get('', 0)
             == 2, 15, "the repair of table 22's two flows counted")
    # The cache may hold counts from before the repair: past its age they are read again.
    time.sleep(FLOW_CACHE_SECONDS + 0.5)
    expected = ofctl_counts(node)
    samples = scrape(node)
    assert expected[20] == 2 and expected[22] == 2      # the learned flow; table 22 back
    flows = by_name(samples, 'ryu_vxlan_vpc_flows')
    assert {int(t): v for t, v in flows.items() if v} == dict(expected)
    assert samples[('ryu_vxlan_vpc_switch_connected', (d,))] == 1
    assert by_name(samples, 'ryu_vxlan_vpc_learned_macs') == {'0x22': 1}
    syncs = by_name(samples, 'ryu_vxlan_vpc_syncs_total')
    assert syncs['ok'] >= 2 and syncs['failed'] == 0      # the first sync and the repair
    assert samples[('ryu_vxlan_vpc_sync_seconds_count', ())] >= 2
    assert samples[('ryu_vxlan_vpc_sync_seconds_bucket', (('le', '+Inf'),))] >= 2
    # File mode and no tunnel health on this branch: those are absent, not 0.
    assert not [k for k in samples if k[0] in ('ryu_vxlan_vpc_registry_connected',
                                               'ryu_vxlan_vpc_tunnel_up')]


def test_a_scrape_within_the_cache_age_sends_no_flow_stats_request(quiet_node):
    node = quiet_node
    first = scrape(node)
    time.sleep(FLOW_CACHE_SECONDS + 0.5)
    before = len(flow_stats_requests(node))
    started = time.monotonic()
    scrape(node)
    scrape(node)
    scrape(node)
    within = time.monotonic() - started
    assert within < FLOW_CACHE_SECONDS
    time.sleep(0.5)   # the log is written by ovs-vswitchd as it receives
    assert len(flow_stats_requests(node)) == before + 1, flow_stats_requests(node)[before:]
    time.sleep(FLOW_CACHE_SECONDS - within + 0.5)
    last = scrape(node)
    wait_for(lambda: len(flow_stats_requests(node)) == before + 2, 5, 'a dump after the age')
    # Nothing but the scrapes asked: no sync ran (each sync reads the flows too).
    syncs = 'ryu_vxlan_vpc_syncs_total'
    assert by_name(first, syncs) == by_name(last, syncs) == {'ok': 1, 'failed': 0}
    print('3 scrapes in %.3f s cost one flow-stats request; one more %g s later, another'
          % (within, FLOW_CACHE_SECONDS))


def test_get_only_json_errors_and_a_switch_that_left(metrics_node):
    node = metrics_node
    for method in ('POST', 'PUT', 'DELETE'):
        status, ctype, body = request(node.netns, method=method)
        assert (status, ctype.split(';')[0]) == (405, 'application/json'), (method, body)
        assert json.loads(body)['error'] == '%s /metrics: only GET is supported' % method
    status, ctype, body = request(node.netns, URL + '?dpid=1')
    assert status == 400 and "unknown query parameter 'dpid'" in json.loads(body)['error']
    status, _, body = request(node.netns, 'http://127.0.0.1:8080/vxlan-vpc/nope')
    assert status == 404 and '/metrics' in json.loads(body)['error']
    node.vsctl('del-controller', 'br-tun')
    d = ('dpid', node.dpid)
    wait_for(lambda: scrape(node).get(('ryu_vxlan_vpc_switch_connected', (d,))) == 0, 15,
             'switch_connected 0')
    samples = scrape(node)
    assert not [k for k in samples if k[0] in ('ryu_vxlan_vpc_flows',
                                               'ryu_vxlan_vpc_learned_macs',
                                               'ryu_vxlan_vpc_syncs_total')]
