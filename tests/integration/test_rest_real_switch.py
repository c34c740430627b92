"""REST API and CLI over real HTTP against a real switch driven by a real ryu-manager.

OVS itself executes the table-10 learn() (ofproto/trace -generate runs the pipeline with
side effects), so table 20 holds a genuinely learned flow, not one written by the test.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from article_node import ARTICLE_COMPUTE1, add_vxlan
from realenv import http_get, wait_for
from ryu_vxlan_vpc.flows import text

BASE = 'http://127.0.0.1:8080/vxlan-vpc'
VM_MAC = '0c:eb:1e:c1:ff:8c'  # the article's compute1 VM
LEARNED = ('cookie=0xa9eb8f9011f7e038, table=20, hard_timeout=300, '
           'priority=1,vlan_tci=0x000c/0x0fff,dl_dst=%s actions=load:0->NXM_OF_VLAN_TCI[],'
           'load:0x22->NXM_NX_TUN_ID[],output:8' % VM_MAC)
CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')


def get_json(node, path):
    status, ctype, body = http_get(node.netns, BASE + path)
    assert ctype == 'application/json', (status, body)
    return status, json.loads(body)


@pytest.fixture
def learned(node, controller):
    """Pipeline in, REST up, and one MAC learned from a frame arriving on vxlan-01."""
    article = sorted(text.parse_dump(ARTICLE_COMPUTE1.read_text()))
    wait_for(lambda: sorted(text.parse_dump(node.ofctl('dump-flows', 'br-tun'))) == article,
             30, 'the article pipeline')
    wait_for(lambda: _answers(node), 30, 'the REST API')
    node.appctl('ofproto/trace', 'br-tun',
                'in_port=8,tun_id=0x22,dl_src=%s,dl_dst=ff:ff:ff:ff:ff:ff' % VM_MAC, '-generate')
    wait_for(lambda: LEARNED in text.parse_dump(node.ofctl('dump-flows', 'br-tun', 'table=20')),
             10, 'OVS to learn the MAC')
    return node


def _answers(node):
    try:
        return http_get(node.netns, BASE + '/switches', timeout=2)[0] == 200
    except OSError:
        return False


def test_flows_json_and_text_agree_with_ovs_ofctl(learned):
    status, body = get_json(learned, '/flows')
    assert status == 200 and body['count'] == 14
    ofctl = sorted(text.parse_dump(learned.ofctl('dump-flows', 'br-tun')))
    assert sorted(text.strip_stats(f['text']) for f in body['flows']) == ofctl
    status, ctype, listing = http_get(learned.netns, BASE + '/flows?format=text')
    assert (status, ctype) == (200, 'text/plain')
    assert sorted(text.parse_dump(listing)) == ofctl
    learn = [f for f in body['flows'] if f['table'] == 10][0]
    assert learn['actions'] == [
        'learn(table=20,hard_timeout=300,priority=1,cookie=0xa9eb8f9011f7e038,'
        'NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],'
        'load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:NXM_OF_IN_PORT[])', 'output:1']
    assert (learn['cookie'], learn['priority'], learn['match']) == ('0x79', 1, {})


def test_hundreds_of_alike_flows_are_written_as_ovs_ofctl_prints_them(learned, tmp_path):
    """Flows alike but for their MACs and counters are written from templates
    (rest/templates.py): still ovs-ofctl's text, line for line, in text and JSON."""
    lines = []
    for i in range(300):
        a, b = divmod(i, 256)
        lines.append('cookie=0xa9eb8f9011f7e038,table=20,hard_timeout=3600,priority=1,'
                     'vlan_tci=0x000c/0x0fff,dl_dst=02:00:00:00:%02x:%02x actions='
                     'load:0->NXM_OF_VLAN_TCI[],load:0x22->NXM_NX_TUN_ID[],output:%d'
                     % (a, b, 8 + i % 2))
        lines.append('cookie=0x5,table=30,priority=%d,dl_src=0a:00:00:00:%02x:%02x,'
                     'dl_dst=0e:00:00:00:%02x:%02x actions=output:9' % (5 + i % 3, a, b, b, a))
    path = tmp_path / 'flows.txt'
    path.write_text('\n'.join(lines) + '\n')
    learned.ofctl('add-flows', 'br-tun', str(path))
    ofctl = sorted(text.parse_dump(learned.ofctl('dump-flows', 'br-tun')))
    assert len(ofctl) == 14 + 600
    status, body = get_json(learned, '/flows')
    assert status == 200 and body['count'] == 14 + 600
    assert sorted(text.strip_stats(f['text']) for f in body['flows']) == ofctl
    assert {f['match'].get('dl_dst') for f in body['flows'] if f['table'] == 30} == {
        '0e:00:00:00:%02x:%02x' % divmod(i, 256)[::-1] for i in range(300)}
    status, ctype, listing = http_get(learned.netns, BASE + '/flows?format=text')
    assert sorted(text.parse_dump(listing)) == ofctl
    # /macs too: each learned flow of table 20 is a MAC entry with its own MAC, tunnel
    # and counters, as ovs-ofctl shows the flow.
    status, macs = get_json(learned, '/macs')
    by_mac = {m['mac']: m for m in macs['macs']}
    assert status == 200 and macs['count'] == len(by_mac) == 301
    for i in range(300):
        m = by_mac['02:00:00:00:%02x:%02x' % divmod(i, 256)]
        assert (m['source'], m['vni'], m['local_vlan'], m['tunnel_port']['ofport']) == (
            'learned', 0x22, 12, 8 + i % 2)
        assert m['n_packets'] == 0 and 3500 <= m['seconds_left_min'] <= 3600


def test_switches_counts_with_aggregate_stats_and_a_silent_switch_is_a_503(learned):
    """/switches' flow count is the switch's own (aggregate stats): ours only, the learned
    flow left out. A switch that stops answering (ovs-vswitchd stopped) is a JSON 503
    naming it within the count's timeout, and the app serves again once it is back."""
    _, body = get_json(learned, '/switches')
    assert body['switches'][0]['flows_installed'] == 13
    dpid = body['switches'][0]['dpid']
    vswitchd = learned.pids()['ovs-vswitchd']
    os.kill(vswitchd, signal.SIGSTOP)
    try:
        started = time.monotonic()
        status, ctype, answer = http_get(learned.netns, BASE + '/switches', timeout=60)
        waited = time.monotonic() - started
    finally:
        os.kill(vswitchd, signal.SIGCONT)
    assert (status, ctype) == (503, 'application/json') and 8 <= waited < 30
    assert dpid in json.loads(answer)['error'] and 'aggregate stats' in answer
    wait_for(lambda: get_json(learned, '/switches')[1]['switches'][0]['flows_installed']
             == 13, 30, '/switches to answer again')


def test_removed_tunnel_takes_the_macs_learned_behind_it(learned):
    other_mac = '0c:eb:1e:c1:ff:99'
    add_vxlan(learned, 'vxlan-ac150c09', '172.21.12.9', ofport=9)
    wait_for(lambda: 'in_port=9' in learned.ofctl('dump-flows', 'br-tun', 'table=0'), 30,
             'table 0 to take in the new tunnel')
    learned.appctl('ofproto/trace', 'br-tun', 'in_port=9,tun_id=0x22,dl_src=%s,'
                   'dl_dst=ff:ff:ff:ff:ff:ff' % other_mac, '-generate')

    def learned_macs():
        table20 = learned.ofctl('dump-flows', 'br-tun', 'table=20')
        return {mac for mac in (VM_MAC, other_mac) if 'dl_dst=' + mac in table20}
    wait_for(lambda: learned_macs() == {VM_MAC, other_mac}, 10, 'both MACs learned')
    learned.vsctl('del-port', 'br-tun', 'vxlan-01')
    wait_for(lambda: learned_macs() == {other_mac}, 30, 'the MAC behind vxlan-01 forgotten')
    assert get_json(learned, '/macs')[1]['macs'][0]['mac'] == other_mac


def test_flows_of_other_tools_are_shown_not_a_500(learned):
    learned.ofctl('add-flow', 'br-tun', 'cookie=0x5,table=30,priority=5,ip,nw_src=10.0.0.0/8,'
                                        'actions=resubmit(3,31),load:0x5->NXM_NX_REG0[]')
    status, body = get_json(learned, '/flows?table=30')
    assert status == 200, body
    flow, = body['flows']
    assert flow['match'] == {'ip': True, 'nw_src': '10.0.0.0/8'}     # ovs-ofctl: ip,nw_src=10.0.0.0/8
    assert text.strip_stats(flow['text']) in text.parse_dump(
        learned.ofctl('dump-flows', 'br-tun', 'table=30'))
    assert flow['actions'] == ['resubmit(3,31)', 'load:0x5->NXM_NX_REG0[]']
    assert get_json(learned, '/flows')[1]['count'] == 15


def test_learned_flow_in_table_20(learned):
    status, body = get_json(learned, '/flows?table=20')
    assert status == 200
    flows = {text.strip_stats(f['text']): f for f in body['flows']}
    assert set(flows) == {LEARNED, 'cookie=0x79, table=20, priority=0 actions=resubmit(,22)'}
    flow = flows[LEARNED]
    assert flow['match'] == {'vlan_tci': '0x000c/0x0fff', 'dl_dst': VM_MAC}
    assert flow['actions'] == ['load:0->NXM_OF_VLAN_TCI[]', 'load:0x22->NXM_NX_TUN_ID[]',
                               'output:8']
    assert (flow['hard_timeout'], flow['cookie']) == (300, '0xa9eb8f9011f7e038')
    status, body = get_json(learned, '/flows?table=20&cookie=0x79')
    assert [text.strip_stats(f['text']) for f in body['flows']] == [
        'cookie=0x79, table=20, priority=0 actions=resubmit(,22)']


def test_macs_vpcs_switches(learned):
    _, macs = get_json(learned, '/macs')
    assert len(macs['macs']) == 1
    mac = macs['macs'][0]
    assert (mac['mac'], mac['vni_hex'], mac['local_vlan']) == (VM_MAC, '0x22', 12)
    assert mac['tunnel_port'] == {'name': 'vxlan-01', 'ofport': 8}
    assert mac['remote_ip'] is None  # the article's name carries no address
    assert 250 < mac['seconds_left_min'] <= 300
    _, vpcs = get_json(learned, '/vpcs')
    assert [(v['vni'], v['local_vlan']) for v in vpcs['vpcs']] == [(0x22, 12)]
    assert [p['name'] for p in vpcs['vpcs'][0]['switches'][0]['flood_ports']] == ['vxlan-01']
    _, sws = get_json(learned, '/switches')
    (sw,) = sws['switches']
    assert sw['patch_port'] == {'name': 'patch-int', 'ofport': 1}
    # compute1.conf's ovsdb_connection is the host's default, not this node's OVSDB: the
    # app cannot read the tunnel's BFD status, so its health is not known.
    assert sw['tunnel_ports'] == [{'name': 'vxlan-01', 'ofport': 8, 'remote_ip': None,
                                   'health': 'unknown'}]
    assert sw['flows_installed'] == 13
    dpid = learned.vsctl('get', 'bridge', 'br-tun', 'datapath_id').strip().strip('"')
    assert sw['dpid'] == dpid
    # The last sync's report, as the log line says it, with where its time went.
    last = sw['last_sync']
    assert (last['dpid'], last['flows']) == (dpid, 13)
    assert last['how'] in ('nothing to send', 'in one atomic bundle')
    assert last['seconds'] >= last['read_seconds'] + last['plan_seconds'] > 0


@pytest.mark.parametrize('path,status,words', [
    ('/flows?table=abc', 400, "table='abc'"),
    ('/flows?table=300', 400, "table='300'"),
    ('/flows?cookie=zz', 400, "cookie='zz'"),
    ('/flows?format=xml', 400, "format='xml'"),
    ('/flows?tabel=1', 400, "'tabel'"),
    ('/flows?dpid=nothex', 400, "dpid='nothex'"),
    ('/macs?dpid=00000000000000ff', 404, '00000000000000ff'),
    ('/nothing-here', 404, '/vxlan-vpc/nothing-here'),
    ('', 404, 'try /vxlan-vpc/switches'),
    ('/flows?table=2_0', 400, "table='2_0'"),
    ('/flows?dpid=-1', 400, "dpid='-1'"),
])
def test_bad_requests_get_json_errors_and_the_app_keeps_running(learned, path, status,
                                                                 words):
    got, body = get_json(learned, path)
    assert got == status and body['status'] == status and words in body['error'], body
    assert get_json(learned, '/flows?table=20')[0] == 200


def run_cli(node, *args):
    return subprocess.run(['ip', 'netns', 'exec', node.netns, CLI] + list(args),
                          capture_output=True, text=True, timeout=60)


def test_cli_prints_like_ovs_ofctl(learned):
    out = run_cli(learned, 'flows', '--table', '20')
    assert out.returncode == 0, out.stderr
    assert LEARNED in text.parse_dump(out.stdout)
    ofctl = text.parse_dump(learned.ofctl('dump-flows', 'br-tun', 'table=20'))
    assert sorted(text.parse_dump(out.stdout)) == sorted(ofctl)
    macs = run_cli(learned, 'macs')
    assert macs.returncode == 0, macs.stderr
    row = [line for line in macs.stdout.splitlines() if VM_MAC in line]
    assert row and '0x22' in row[0] and 'vxlan-01(8)' in row[0], macs.stdout
    vpcs = run_cli(learned, 'vpcs')
    assert '0x22' in vpcs.stdout and 'vxlan-01' in vpcs.stdout, vpcs.stdout


def test_cli_errors(learned):
    out = run_cli(learned, 'flows', '--url', 'http://127.0.0.1:1')
    assert out.returncode == 1 and 'cannot reach the controller REST API' in out.stderr
    out = run_cli(learned, 'flows', '--dpid', '00000000000000ff')
    assert out.returncode == 2 and 'HTTP 404' in out.stderr
    out = run_cli(learned, 'flows', '--table', 'x')
    assert out.returncode == 2 and "'x' is not a table number" in out.stderr
