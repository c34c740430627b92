"""End to end: ``ryu-vxlan-vpc trace`` and ``GET /vxlan-vpc/trace`` on a real 3-node lab.

ovs-vswitchd itself traces (ofproto/trace, found through the node's OVSDB run directory);
the app explains. The lab follows its registry, so l2population is on: a MAC the registry
knows is reached through its priority-2 flow, and a learned flow is used only for a MAC
the registry does not know; the learn test gives compute2's VM a second MAC (a macvlan)
and pings compute1's VM from it. The tests run in file order on one lab.
"""
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from labrun import running_lab, vm_mac
from realenv import wait_for
from ryu_vxlan_vpc.model import tunnel_port_name
from ryu_vxlan_vpc.netns import http_get, inside_netns
from ryu_vxlan_vpc.flows import text

CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')
REST = 'http://127.0.0.1:8080/vxlan-vpc'
VNI = 0x22
SECOND_MAC, SECOND_IP = 'fa:16:3e:aa:bb:cc', '192.168.10.99'


class Lab:
    def __init__(self, lab):
        self.lab = lab
        self.rec = lab.load()
        self.nodes = {n['name']: n for n in self.rec['nodes']}

    def netns(self, node):
        return self.nodes[node]['netns']

    def vm(self, node):
        return next(vm for vm in self.nodes[node]['vms'] if vm['vni'] == VNI)

    def vm_port(self, node):
        return 'qvo' + self.vm(node)['id']

    def tunnel(self, node, to):
        return tunnel_port_name(self.nodes[to]['vtep'])

    def flows(self, node, *args):
        return text.parse_dump(self.lab.ovs(self.nodes[node]).ofctl('dump-flows', 'br-tun',
                                                                    *args))


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory, nodes=3) as lab:
        yield Lab(lab)


def cli(lab, node, *args):
    return subprocess.run(['ip', 'netns', 'exec', lab.netns(node), CLI, 'trace'] + list(args),
                          capture_output=True, text=True, timeout=60)


def rest(lab, node, **query):
    status, ctype, body = http_get(lab.netns(node),
                                   REST + '/trace?' + urllib.parse.urlencode(query))
    assert ctype == 'application/json', body
    return status, json.loads(body)


def test_broadcast_from_compute1_vm_names_both_tunnels(lab):
    to2, to3 = lab.tunnel('compute1', 'compute2'), lab.tunnel('compute1', 'compute3')
    status, body = rest(lab, 'compute1', node_port=lab.vm_port('compute1'), vpc='0x22',
                        dst='ff:ff:ff:ff:ff:ff')
    assert status == 200, body
    assert body['verdict']['result'] == 'flooded'
    assert sorted(p['name'] for p in body['verdict']['ports']) == sorted([to2, to3])
    # the VM port's attached-mac is the source; the frame enters on the patch port
    assert body['terms']['src'] == vm_mac(lab.vm('compute1')['namespace'])
    assert body['in_port']['name'] == 'patch-int'
    last = body['hops'][-1]
    assert (last['table'], last['table_name'], last['kind']) == (22, 'FLOOD_TO_TUN', 'pipeline')
    for name in (to2, to3):
        assert 'output to %s (%s)' % (name, lab.nodes['compute2' if name == to2
                                                      else 'compute3']['vtep']) in last['text']
    # the CLI prints the same hops and verdict as text
    out = cli(lab, 'compute1', '--node-port', lab.vm_port('compute1'), '--vpc', '0x22',
              '--dst', 'ff:ff:ff:ff:ff:ff')
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert last['text'] in lines
    verdict = [line for line in lines if line.startswith('verdict: ')]
    assert verdict == ['verdict: ' + body['verdict']['text']]
    assert to2 in verdict[0] and to3 in verdict[0]


def test_unknown_vni_from_a_tunnel_is_dropped_in_table_4(lab):
    tunnel = lab.tunnel('compute1', 'compute2')
    out = cli(lab, 'compute1', '--tunnel', tunnel, '--vpc', '0x99',
              '--dst', vm_mac(lab.vm('compute1')['namespace']))
    assert out.returncode == 0, out.stderr
    verdict = out.stdout.splitlines()[-1]
    assert verdict.startswith('verdict: dropped in table 4 VXLAN_TUN_TO_LV'), out.stdout
    assert 'VNI 0x99 is not a VPC of this node' in verdict
    status, body = rest(lab, 'compute1', tunnel=tunnel, vpc='0x99', dst='fa:16:3e:00:00:01')
    assert status == 200 and (body['verdict']['result'], body['verdict']['table']) == (
        'dropped', 4)
    assert 'tun_id=0x99' in body['flow']


def test_trace_after_a_learn_names_the_learned_flow_in_table_20(lab):
    c1_vm, c2_ns = lab.vm('compute1'), lab.vm('compute2')['namespace']
    query = dict(node_port=lab.vm_port('compute1'), vpc='0x22', dst=SECOND_MAC)
    status, before = rest(lab, 'compute1', **query)
    assert status == 200 and before['verdict']['result'] == 'flooded'   # unknown unicast
    # compute2's VM gets a second MAC the registry does not know, and pings from it
    subprocess.run(['ip', '-n', c2_ns, 'link', 'add', 'link', 'eth0', 'name', 'mv0',
                    'address', SECOND_MAC, 'type', 'macvlan', 'mode', 'bridge'], check=True)
    subprocess.run(['ip', '-n', c2_ns, 'addr', 'add', SECOND_IP + '/32', 'dev', 'mv0'],
                   check=True)
    subprocess.run(['ip', '-n', c2_ns, 'link', 'set', 'mv0', 'up'], check=True)
    c1_ip = c1_vm['address'].split('/')[0]
    subprocess.run(['ip', '-n', c2_ns, 'route', 'add', c1_ip + '/32', 'dev', 'mv0', 'src',
                    SECOND_IP, 'metric', '5'], check=True)
    ping = subprocess.run(['ip', 'netns', 'exec', c2_ns, 'ping', '-c', '2', '-W', '1', '-I',
                           SECOND_IP, c1_ip], capture_output=True, text=True)
    assert ', 0% packet loss' in ping.stdout, ping.stdout
    learned = wait_for(lambda: [f for f in lab.flows('compute1', 'table=20')
                                if 'dl_dst=%s ' % SECOND_MAC in f], 10,
                       'the learned flow of %s on compute1' % SECOND_MAC)
    assert learned and 'cookie=0xa9eb8f9011f7e038' in learned[0]
    status, body = rest(lab, 'compute1', **query)
    assert status == 200, body
    hop = body['hops'][-1]
    assert (hop['table'], hop['kind'], hop['in_flow_dump']) == (20, 'learned', True)
    assert hop['cookie'] == '0xa9eb8f9011f7e038'
    # the hop shows the very flow ovs-ofctl lists, in its syntax
    assert hop['match'] in learned[0] and 'dl_dst=%s' % SECOND_MAC in hop['match']
    assert hop['text'].startswith('table 20 UCAST_TO_TUN, learned flow: priority=1,')
    to2 = lab.tunnel('compute1', 'compute2')
    assert body['verdict']['result'] == 'delivered'
    assert [p['name'] for p in body['verdict']['ports']] == [to2]
    out = cli(lab, 'compute1', '--node-port', lab.vm_port('compute1'), '--vpc', '0x22',
              '--dst', SECOND_MAC)
    assert out.returncode == 0 and hop['text'] in out.stdout.splitlines(), out.stdout


@pytest.mark.parametrize('args, needle', [
    (['--node-port', 'qvo1', '--vpc', '0x22', '--dst', 'fa:16:3e:00:00'], "--dst 'fa:16"),
    (['--vpc', '0x22', '--dst', 'fa:16:3e:00:00:01'], '--node-port missing'),
    (['--tunnel', 'vxlan-1', '--vpc', '0x1000000', '--dst', 'fa:16:3e:00:00:01'],
     "--vpc '0x1000000'"),
    (['--tunnel', 'vxlan-ffffffff', '--vpc', '0x22', '--dst', 'fa:16:3e:00:00:01'],
     "tunnel='vxlan-ffffffff' is not a tunnel port of br-tun"),
    (['--node-port', 'QVO', '--vpc', '0x77', '--dst', 'fa:16:3e:00:00:01'],
     'vpc=0x77 is not a VPC of this node'),
    (['--node-port', 'qvonothere', '--vpc', '0x22', '--dst', 'fa:16:3e:00:00:01'],
     "node_port='qvonothere': no such port"),
    (['--node-port', 'patch-int', '--vpc', '0x22', '--dst', 'fa:16:3e:00:00:01'],
     "node_port='patch-int' is a port of br-tun, not of br-int"),
])
def test_cli_bad_input_exits_2_with_one_line(lab, args, needle):
    out = cli(lab, 'compute1', *args)
    assert out.returncode == 2, out
    assert out.stdout == '' and len(out.stderr.splitlines()) == 1, out.stderr
    assert needle in out.stderr and 'Traceback' not in out.stderr


def test_rest_bad_input_is_400_naming_the_field(lab):
    port, dst = lab.vm_port('compute1'), 'fa:16:3e:00:00:01'
    cases = [
        (dict(node_port=port, vpc='0x22', dst='zz'), "dst='zz'"),
        (dict(node_port=port, vpc='0x22'), 'dst: required'),
        (dict(node_port=port, tunnel='vxlan-x', vpc='0x22', dst=dst), 'tunnel='),
        (dict(node_port='a b', vpc='0x22', dst=dst), "node_port='a b'"),
        (dict(node_port=port, vpc='abc', dst=dst), "vpc='abc'"),
        (dict(node_port=port, vpc='0x22', dst=dst, src='01:00:5e:00:00:01'), 'src='),
        (dict(node_port=port, vpc='0x22', arp='10.0.0.256'), "arp='10.0.0.256'"),
        (dict(node_port=port, vpc='0x22', dst=dst, color='red'), "'color'"),
        (dict(tunnel='vxlan-00000000', vpc='0x22', dst=dst), "tunnel='vxlan-00000000'"),
        (dict(node_port=port, vpc='0x23', dst=dst), 'vpc=0x23 is not a VPC of this node'),
        (dict(node_port='qvonothere', vpc='0x22', dst=dst), "node_port='qvonothere'"),
        (dict(node_port=port, vpc='0x22', dst=dst, dpid='xyz'), "dpid='xyz'"),
    ]
    for query, needle in cases:
        status, body = rest(lab, 'compute1', **query)
        assert (status, body['status']) == (400, 400), (query, body)
        assert needle in body['error'], (query, body)
    status, body = rest(lab, 'compute1', node_port=port, vpc='0x22', dst=dst,
                        dpid='0x1234')
    assert status == 404 and 'dpid' in body['error']


def test_trace_answers_only_get(lab):
    request = urllib.request.Request(REST + '/trace?vpc=1', method='POST')
    with inside_netns(lab.netns('compute1')):
        try:
            urllib.request.urlopen(request, timeout=10)
            status = 200
        except urllib.error.HTTPError as exc:
            status, body = exc.code, json.loads(exc.read())
    assert status == 405 and 'only GET' in body['error']


def test_random_bad_terms_never_get_a_500_and_change_no_flow(lab):
    """Names and values that try to reach a shell, ovs-vsctl's options or the flow syntax."""
    import random
    rng = random.Random(13)
    before = sorted(lab.flows('compute1', '--no-stats'))
    values = ['', 'x', '-t', '--help', '--db=tcp:1.2.3.4:1', 'qvo1;id', '$(id)', 'a b',
              'a,in_port=2', 'vxlan-ac150c08\n', '\u00e9', '.', '..', 'x' * 16, '0x22',
              '34', '0', '-1', '0x1000000', 'ff:ff:ff:ff:ff:ff', 'FA:16:3E:00:00:01',
              'fa:16:3e:00:00:01,in_port=9', '1.2.3.4', '300.1.1.1', '1.2.3.4/24',
              lab.vm_port('compute1'), lab.tunnel('compute1', 'compute2'), 'patch-int']
    fields = ['node_port', 'tunnel', 'vpc', 'dst', 'src', 'arp']
    seen = set()
    for _ in range(150):
        # a valid query with up to two terms changed, added or left out
        query = rng.choice([dict(node_port=lab.vm_port('compute1'), vpc='0x22',
                                 dst='ff:ff:ff:ff:ff:ff'),
                            dict(tunnel=lab.tunnel('compute1', 'compute3'), vpc='0x22',
                                 dst='fa:16:3e:00:00:01')])
        for field in rng.sample(fields, rng.randrange(0, 3)):
            if rng.random() < 0.2:
                query.pop(field, None)
            else:
                query[field] = rng.choice(values)
        status, body = rest(lab, 'compute1', **query)
        assert status in (200, 400), (query, body)
        assert status == 200 or body['status'] == 400 and body['error'], (query, body)
        seen.add(status)
    assert seen == {200, 400}
    assert sorted(lab.flows('compute1', '--no-stats')) == before


def test_without_vswitchd_control_socket_the_answer_is_503(lab):
    """The socket is found beside the node's OVSDB socket; moved aside, it is missing."""
    rundir = lab.nodes['compute1']['ovs_rundir']
    with open(os.path.join(rundir, 'ovs-vswitchd.pid')) as f:
        ctl = os.path.join(rundir, 'ovs-vswitchd.%d.ctl' % int(f.read()))
    query = dict(node_port=lab.vm_port('compute1'), vpc='0x22', dst='ff:ff:ff:ff:ff:ff')
    os.rename(ctl, ctl + '.aside')
    try:
        status, body = rest(lab, 'compute1', **query)
    finally:
        os.rename(ctl + '.aside', ctl)
    assert (status, body['status']) == (503, 503), body
    assert 'no control socket %s' % ctl in body['error']
    out = cli(lab, 'compute1', '--node-port', lab.vm_port('compute1'), '--vpc', '0x22',
              '--dst', 'ff:ff:ff:ff:ff:ff')
    assert out.returncode == 0, out.stderr
