"""The fleet CLI, the Registry and the Follower against a real etcd 3.4 (a private one per
test, see tests/etcd_server.py). The CLI runs as a real subprocess, as an operator runs it.
"""
import json
import os
import subprocess
import sys
import threading

import pytest

from etcd_server import etcd, free_port  # noqa: F401  (etcd is a fixture)
from realenv import wait_for
from ryu_vxlan_vpc.registry import fleet as ops
from ryu_vxlan_vpc.registry.etcd import Compacted, Registry, RegistryUnavailable
from ryu_vxlan_vpc.registry.follow import Follower

PREFIX = '/test-fleet'
SCRIPT = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')
CLI = [SCRIPT] if os.path.exists(SCRIPT) else [sys.executable, '-m', 'ryu_vxlan_vpc.cli']


def cli(endpoint, *args, env=None):
    argv = CLI + ['fleet'] + (['--etcd', endpoint] if endpoint else []) + [
        '--prefix', PREFIX] + list(args)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))
    assert 'Traceback' not in proc.stderr, proc.stderr
    return proc


def ok(etcd, *args):
    proc = cli(etcd.endpoint, *args)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def registry(etcd, **kw):
    return Registry(etcd.endpoint, prefix=PREFIX, **kw)


def populate(etcd):
    ok(etcd, 'node', 'add', 'compute1', '--local-ip', '172.21.12.163')
    ok(etcd, 'node', 'add', 'compute2', '--local-ip', '172.21.12.8')
    ok(etcd, 'vpc', 'add', '0x22', '--name', 'test', '--cidr', '192.168.10.0/24')
    ok(etcd, 'vpc', 'add', '35')
    ok(etcd, 'port', 'add', 'compute1', 'p1', '--vpc', '0x22', '--mac', 'FA:16:3E:00:00:01',
       '--ip', '192.168.10.11')
    ok(etcd, 'port', 'add', 'compute2', 'p2', '--vpc', '34', '--mac', 'fa:16:3e:00:00:02',
       '--ip', '192.168.10.12')
    ok(etcd, 'port', 'add', 'compute2', 'p3', '--vpc', '35', '--mac', 'fa:16:3e:00:00:01')


def test_commands_happy_path_and_show(etcd):
    populate(etcd)
    doc = json.loads(ok(etcd, 'show', '--json'))
    assert doc == {
        'nodes': [{'name': 'compute1', 'local_ip': '172.21.12.163'},
                  {'name': 'compute2', 'local_ip': '172.21.12.8'}],
        'vpcs': [{'vni': 34, 'name': 'test', 'cidr': '192.168.10.0/24'},
                 {'vni': 35, 'name': None, 'cidr': None}],
        'ports': [{'node': 'compute1', 'port_id': 'p1', 'vni': 34, 'mac': 'fa:16:3e:00:00:01',
                   'ip': '192.168.10.11'},
                  {'node': 'compute2', 'port_id': 'p2', 'vni': 34, 'mac': 'fa:16:3e:00:00:02',
                   'ip': '192.168.10.12'},
                  {'node': 'compute2', 'port_id': 'p3', 'vni': 35, 'mac': 'fa:16:3e:00:00:01',
                   'ip': None}],
        'problems': []}
    # The stored form: what a controller (or etcdctl) reads.
    raw = etcd.etcdctl('get', PREFIX + '/ports/compute1/p1', '--print-value-only')
    assert json.loads(raw) == {'vni': 34, 'mac': 'fa:16:3e:00:00:01', 'ip': '192.168.10.11'}
    table = ok(etcd, 'show').splitlines()
    assert any(line.split() == ['compute1', '172.21.12.163'] for line in table)
    assert any(line.split() == ['34', '0x22', 'test', '192.168.10.0/24'] for line in table)
    assert any(line.split() == ['compute2', 'p3', '35', 'fa:16:3e:00:00:01', '-']
               for line in table)

    before = registry(etcd).read_all()[1]
    assert 'unchanged' in ok(etcd, 'node', 'add', 'compute1', '--local-ip', '172.21.12.163')
    assert 'unchanged' in ok(etcd, 'vpc', 'add', '34', '--name', 'test', '--cidr',
                             '192.168.10.0/24')
    assert 'unchanged' in ok(etcd, 'port', 'add', 'compute1', 'p1', '--vpc', '34', '--mac',
                             'fa:16:3e:00:00:01', '--ip', '192.168.10.11')
    assert registry(etcd).read_all()[1] == before    # "unchanged" wrote nothing

    out = ok(etcd, 'node', 'add', 'compute1', '--local-ip', '172.21.12.164')
    assert 'updated' in out and '172.21.12.164' in out
    assert 'updated' in ok(etcd, 'vpc', 'add', '35', '--name', 'other')
    assert 'updated' in ok(etcd, 'port', 'add', 'compute2', 'p3', '--vpc', '35', '--mac',
                           'fa:16:3e:00:00:03')
    assert 'removed' in ok(etcd, 'port', 'remove', 'compute2', 'p3')
    assert 'not there' in ok(etcd, 'port', 'remove', 'compute2', 'p3')
    assert 'not there' in ok(etcd, 'node', 'remove', 'compute9')
    assert 'not there' in ok(etcd, 'vpc', 'remove', '0x99')
    assert 'removed' in ok(etcd, 'vpc', 'remove', '35')
    doc = json.loads(ok(etcd, 'show', '--json'))
    assert doc['nodes'][0]['local_ip'] == '172.21.12.164'
    assert [v['vni'] for v in doc['vpcs']] == [34]
    assert [p['port_id'] for p in doc['ports']] == ['p1', 'p2']


REFUSALS = [
    (('vpc', 'add', '0x1000000'), '0x1000000'),
    (('vpc', 'add', '0'), "vni 0"),
    (('vpc', 'add', 'twelve'), 'twelve'),
    (('vpc', 'add', '40', '--cidr', '10.0.0.1/24'), '10.0.0.1/24'),
    (('vpc', 'add', '34', '--cidr', '10.0.0.0/24'), '192.168.10.11'),  # would strand ports
    (('vpc', 'remove', '0x22'), 'compute1/p1'),
    (('node', 'add', 'compute3', '--local-ip', '172.21.12.163'), '172.21.12.163'),
    (('node', 'add', 'compute3', '--local-ip', '300.1.1.1'), '300.1.1.1'),
    (('node', 'add', 'compute3', '--local-ip', '0.0.0.0'), '0.0.0.0'),
    (('node', 'add', 'compute3', '--local-ip', '239.1.1.1'), '239.1.1.1'),
    (('node', 'add', 'bad/name', '--local-ip', '10.1.1.1'), 'bad/name'),
    (('node', 'remove', 'a/b'), 'a/b'),
    (('port', 'add', 'compute9', 'p9', '--vpc', '34', '--mac', 'fa:16:3e:00:00:09'), 'compute9'),
    (('port', 'add', 'compute1', 'p9', '--vpc', '99', '--mac', 'fa:16:3e:00:00:09'), '99'),
    (('port', 'add', 'compute1', 'p9', '--vpc', '34', '--mac', 'fa:16:3e:00:00'),
     'fa:16:3e:00:00'),
    (('port', 'add', 'compute1', 'p9', '--vpc', '34', '--mac', 'FA:16:3E:00:00:02'),
     'fa:16:3e:00:00:02'),                                              # p2's MAC in VPC 34
    (('port', 'add', 'compute1', 'p9', '--vpc', '34', '--mac', 'fa:16:3e:00:00:09', '--ip',
      '10.0.0.5'), '10.0.0.5'),
    (('port', 'add', 'compute1', 'p9', '--vpc', '34', '--mac', 'fa:16:3e:00:00:09', '--ip',
      '1.2.3'), '1.2.3'),
    (('port', 'add', 'compute1', 'p 9', '--vpc', '34', '--mac', 'fa:16:3e:00:00:09'), 'p 9'),
    (('port', 'add', 'compute1', 'p9', '--mac', 'fa:16:3e:00:00:09'), '--vpc'),   # argparse
    (('--prefix', 'relative', 'show'), 'relative'),
]


def test_every_refusal_exits_2_names_the_value_and_writes_nothing(etcd):
    populate(etcd)
    before = registry(etcd).read_all()
    for args, value in REFUSALS:
        proc = cli(etcd.endpoint, *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert value in proc.stderr, (args, proc.stderr)
        assert registry(etcd).read_all() == before, args   # same keys, values and revision
    proc = cli('nonsense', 'show')
    assert proc.returncode == 2 and 'nonsense' in proc.stderr


def test_unreachable_etcd_exits_1_naming_the_endpoint(etcd):
    dead = '127.0.0.1:%d' % free_port()
    for args in (('show',), ('node', 'add', 'c1', '--local-ip', '10.0.0.1')):
        proc = cli(dead, *args)
        assert proc.returncode == 1, proc.stderr
        assert dead in proc.stderr and 'unreachable' in proc.stderr
    # $RYU_VXLAN_VPC_ETCD is the default; a list is tried in order.
    proc = cli(None, 'show', env={'RYU_VXLAN_VPC_ETCD': dead})
    assert proc.returncode == 1 and dead in proc.stderr
    proc = cli(None, 'node', 'add', 'c1', '--local-ip', '10.0.0.1',
               env={'RYU_VXLAN_VPC_ETCD': '%s,%s' % (dead, etcd.endpoint)})
    assert proc.returncode == 0, proc.stderr
    assert 'added' in proc.stdout


def test_vpc_remove_needs_force_and_node_remove_takes_its_ports(etcd):
    populate(etcd)
    proc = cli(etcd.endpoint, 'vpc', 'remove', '34')
    assert proc.returncode == 2 and 'compute1/p1' in proc.stderr and '--force' in proc.stderr
    out = ok(etcd, 'vpc', 'remove', '34', '--force')
    assert 'compute1/p1' in out and 'compute2/p2' in out
    kvs = registry(etcd).read_all()[0]
    assert sorted(k[len(PREFIX):] for k in kvs) == [
        '/nodes/compute1', '/nodes/compute2', '/ports/compute2/p3', '/vpcs/35']
    out = ok(etcd, 'node', 'remove', 'compute2')
    assert 'p3' in out
    kvs = registry(etcd).read_all()[0]
    assert sorted(k[len(PREFIX):] for k in kvs) == ['/nodes/compute1', '/vpcs/35']


class Meddling:
    """A Registry whose reads are followed by someone else's write (``meddle``), so the
    guarded transaction of an operation finds the registry changed."""

    def __init__(self, real, meddle, times):
        self.real, self.meddle, self.times = real, meddle, times
        self.prefix, self.endpoints_text = real.prefix, real.endpoints_text

    def read_all_meta(self):
        result = self.real.read_all_meta()
        if self.times:
            self.times -= 1
            self.meddle(self.real)
        return result

    def transaction(self, **kw):
        return self.real.transaction(**kw)


def test_guarded_transactions_see_concurrent_changes(etcd):
    populate(etcd)
    real = registry(etcd)
    # Someone takes the MAC between our read and our write: the retry sees it and refuses.
    steal = Meddling(real, lambda r: ops.add_port(r, 'compute2', 'thief', 34,
                                                  'fa:16:3e:00:00:07'), times=1)
    with pytest.raises(ops.FleetError, match='fa:16:3e:00:00:07.*compute2/thief'):
        ops.add_port(steal, 'compute1', 'p7', 34, 'fa:16:3e:00:00:07')
    # A port joins the VPC while we remove it: the retry sees the port and refuses.
    join = Meddling(real, lambda r: ops.add_port(r, 'compute1', 'late', 35,
                                                 'fa:16:3e:00:00:08'), times=1)
    ops.remove_port(real, 'compute2', 'p3')
    with pytest.raises(ops.FleetError, match='compute1/late'):
        ops.remove_vpc(join, 35)
    # Someone who never stops: give up with ConcurrentChange, having written nothing of ours.
    counter = iter(range(1, 100))
    busy = Meddling(real, lambda r: ops.add_node(r, 'busy', '10.9.0.%d' % next(counter)),
                    times=100)
    with pytest.raises(ops.ConcurrentChange, match=etcd.endpoint):
        ops.add_node(busy, 'compute3', '10.0.0.3')
    assert PREFIX + '/nodes/compute3' not in real.read_all()[0]


def test_watch_sees_put_and_delete_and_compaction_raises(etcd):
    reg = registry(etcd, watch_idle=1.0)
    start = reg.read_all()[1]
    key = PREFIX + '/vpcs/34'
    reg.transaction(puts={key: '{}'})
    reg.transaction(deletes=[key])
    events = [e for batch in reg.watch(start + 1) for e in batch]   # ends after 1 s idle
    assert events == [('put', key, b'{}', start + 1), ('delete', key, None, start + 2)]
    etcd.etcdctl('compact', str(start + 2))
    with pytest.raises(Compacted) as e:
        next(reg.watch(start + 1))
    assert e.value.revision == start + 2
    dead = Registry('127.0.0.1:%d' % free_port(), prefix=PREFIX)
    with pytest.raises(RegistryUnavailable, match=dead.endpoints_text):
        next(dead.watch(1))


class Log:
    def __init__(self):
        self.lines = []

    def _add(self, msg, *args):
        self.lines.append(msg % args if args else msg)

    debug = info = warning = exception = _add

    def count(self, text):
        return sum(text in line for line in self.lines)


def test_follower_converges_and_survives_an_etcd_restart(etcd):
    log, seen = Log(), []
    follower = Follower(registry(etcd, timeout=1.0, watch_idle=1.0), PREFIX,
                        lambda fleet, rev: seen.append((fleet, rev)), log)
    stop = threading.Event()
    thread = threading.Thread(target=follower.run, args=(stop,), daemon=True)
    thread.start()
    try:
        populate(etcd)
        wait_for(lambda: seen and len(seen[-1][0].ports) == 3, 15, 'the follower to see 3 ports')
        etcd.kill()
        wait_for(lambda: log.count('unreachable'), 15, 'the outage to be logged')
        etcd.start()
        ops.add_node(registry(etcd), 'compute3', '172.21.12.9')
        wait_for(lambda: 'compute3' in seen[-1][0].nodes, 30, 'the write after the restart')
        assert log.count('unreachable') == 1, log.lines
        assert etcd.endpoint in log.lines[0] and 'keeping the last applied state' in log.lines[0]
        assert log.count('reachable again') == 1, log.lines
        assert [(p.node, p.port_id) for p in seen[-1][0].ports] == [
            ('compute1', 'p1'), ('compute2', 'p2'), ('compute2', 'p3')]
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()


def test_a_full_read_in_pages_is_one_revisions_registry(etcd):
    """A full read comes in pages (50k records at once would be a 15 MiB JSON answer), all
    at the first page's revision: a write between two pages is not half in it."""
    populate(etcd)
    reg = registry(etcd)
    whole, revision = reg.read_all_meta()
    assert len(whole) == 7
    assert reg.read_all_meta(page=2) == (whole, revision)   # 4 pages
    assert reg.read_all_meta(page=7) == (whole, revision)   # one full page: no empty next

    class WriteBetweenPages(Registry):
        calls = 0

        def _call(self, path, body):
            type(self).calls += 1
            if type(self).calls == 2:   # after the first page: another writer's transaction
                ok(etcd, 'port', 'add', 'compute2', 'p9', '--vpc', '35', '--mac',
                   'fa:16:3e:00:00:09')
                ok(etcd, 'node', 'remove', 'compute1')
            return super()._call(path, body)

    paged = WriteBetweenPages(etcd.endpoint, prefix=PREFIX)
    assert paged.read_all_meta(page=3) == (whole, revision)
    after, later = reg.read_all_meta()
    assert later > revision and PREFIX + '/ports/compute2/p9' in after


def test_a_full_read_whose_revision_is_compacted_between_pages_starts_over(etcd):
    """etcd may compact away the revision a paged read is pinned to (auto-compaction): the
    read starts over at a new one instead of failing as an outage."""
    populate(etcd)
    reg = registry(etcd)

    class CompactBetweenPages(Registry):
        calls = 0

        def _call(self, path, body):
            type(self).calls += 1
            if type(self).calls == 2:   # after the first page: a write, then a compaction
                ok(etcd, 'vpc', 'add', '36')
                reg.compact(reg.read_all()[1])
            return super()._call(path, body)

    paged = CompactBetweenPages(etcd.endpoint, prefix=PREFIX)
    kvs, revision = paged.read_all_meta(page=3)
    assert (kvs, revision) == reg.read_all_meta()
    assert PREFIX + '/vpcs/36' in kvs and CompactBetweenPages.calls > 4
