"""Follower against an in-memory etcd: lost watches, compaction, outages, bad records.

The fake keeps a revision counter, the full event history, a compaction point and an
"unavailable" switch. A test is a script of steps; the fake runs the next step whenever the
follower has drained the watch or sleeps, and stops the follower when the script is done.
Every fleet the follower publishes must equal the fake's real state at that revision, so a
missed or doubled event shows up as a mismatch.
"""
import json

from ryu_vxlan_vpc.registry.etcd import Compacted, RegistryUnavailable
from ryu_vxlan_vpc.registry import follow as follow_module
from ryu_vxlan_vpc.registry import records as records_module
from ryu_vxlan_vpc.registry.follow import MAX_BACKOFF, MIN_BACKOFF, Follower
from ryu_vxlan_vpc.registry.records import parse_fleet

P = '/ryu-vxlan-vpc'
DROP = 'drop'  # a step returning this ends the current watch stream (connection lost)


def ports(fleet):
    return {(p.node, p.port_id) for p in fleet.ports}


def node(name, ip):
    return ('%s/nodes/%s' % (P, name), json.dumps({'local_ip': ip}).encode())


def vpc(vni):
    return ('%s/vpcs/%d' % (P, vni), b'{}')


def port(node_name, port_id, vni, mac):
    return ('%s/ports/%s/%s' % (P, node_name, port_id),
            json.dumps({'vni': vni, 'mac': mac}).encode())


class FakeRegistry:
    def __init__(self, steps):
        self.kv, self.revision, self.history = {}, 1, []
        self.states = {1: {}}     # revision -> kv at that revision
        self.compacted = 0        # a watch from a revision below this raises Compacted
        self.unavailable = False
        self.steps = list(steps)
        self.done = False
        self.sleeps = []
        self.watches = []         # start revisions asked for
        self.reads = 0

    # --- the test's side ---
    def commit(self, puts=(), deletes=()):
        """One transaction: one new revision, its events together."""
        self.revision += 1
        for key, value in puts:
            self.kv[key] = value
            self.history.append((self.revision, 'put', key, value))
        for key in deletes:
            del self.kv[key]
            self.history.append((self.revision, 'delete', key, None))
        self.states[self.revision] = dict(self.kv)

    def compact(self):
        self.compacted = self.revision

    def advance(self):
        if not self.steps:
            self.done = True
            return DROP
        return self.steps.pop(0)(self)

    # --- the Registry interface ---
    def _check(self):
        if self.unavailable:
            raise RegistryUnavailable('fake:2379', 'connection refused')

    def read_all(self):
        self._check()
        self.reads += 1
        return dict(self.kv), self.revision

    def watch(self, start_revision):
        self._check()
        self.watches.append(start_revision)
        if start_revision < self.compacted:
            raise Compacted(self.compacted)
        next_rev = start_revision
        while not self.done:
            pending = sorted({r for r, *_ in self.history if r >= next_rev})
            for rev in pending:
                yield [(kind, key, value, r) for r, kind, key, value in self.history if r == rev]
                next_rev = rev + 1
            if self.advance() == DROP or self.unavailable:
                return

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.advance()


class Log:
    def __init__(self):
        self.lines = []

    def _add(self, level, msg, *args):
        self.lines.append((level, msg % args if args else msg))

    def debug(self, msg, *args):
        self._add('debug', msg, *args)

    def info(self, msg, *args):
        self._add('info', msg, *args)

    def warning(self, msg, *args):
        self._add('warning', msg, *args)

    def exception(self, msg, *args):
        self._add('exception', msg, *args)

    def matching(self, text):
        return [line for level, line in self.lines if text in line]


class Ticks:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def follow(fake, on_fleet=None, clock=None):
    """By default every batch comes a second after the last: each one is published."""
    seen, log = [], Log()

    def record(fleet, revision):
        seen.append((fleet, revision))
        if on_fleet:
            on_fleet(fleet, revision)

    follower = Follower(fake, P, record, log, sleep=fake.sleep, clock=clock or Ticks(1.0))
    follower.run(lambda: fake.done)
    # Every published fleet is exactly the registry's state at that revision.
    for fleet, revision in seen:
        assert fleet == parse_fleet(P, fake.states[revision])[0], revision
    assert [r for _, r in seen] == sorted(r for _, r in seen)
    return seen, log


def test_lost_watch_resumes_without_missing_an_event():
    def write_then_lose_stream(f):
        f.commit(puts=[port('c1', 'p2', 34, 'fa:16:3e:00:00:02')])
        return DROP  # the stream dies before the follower saw that event

    def write_more(f):
        f.commit(puts=[node('c2', '10.0.0.2')], deletes=[port('c1', 'p1', 0, '')[0]])

    fake = FakeRegistry([
        lambda f: f.commit(puts=[node('c1', '10.0.0.1'), vpc(34)]),
        lambda f: f.commit(puts=[port('c1', 'p1', 34, 'fa:16:3e:00:00:01')]),
        write_then_lose_stream,
        write_more,
    ])
    seen, log = follow(fake)
    fleet, revision = seen[-1]
    assert revision == fake.revision == 5
    assert set(fleet.nodes) == {'c1', 'c2'} and ports(fleet) == {('c1', 'p2')}
    assert fake.reads == 1                  # resumed, not re-read
    assert fake.watches == [2, 4]           # resumed at the revision it had not seen
    assert not [line for level, line in log.lines if level != 'debug']


def test_compaction_triggers_a_full_read_and_misses_nothing():
    def write_compact_and_lose_stream(f):
        f.commit(puts=[node('c2', '10.0.0.2')])
        f.commit(deletes=[node('c1', '')[0]])   # a delete only a full read can reflect
        f.compact()
        return DROP

    fake = FakeRegistry([
        lambda f: f.commit(puts=[node('c1', '10.0.0.1'), vpc(34)]),
        write_compact_and_lose_stream,
        lambda f: f.commit(puts=[vpc(35)]),
    ])
    seen, log = follow(fake)
    fleet, revision = seen[-1]
    assert revision == fake.revision
    assert set(fleet.nodes) == {'c2'} and set(fleet.vpcs) == {34, 35}
    assert fake.reads == 2
    assert len(log.matching('compacted')) == 1


def test_outage_logs_once_keeps_last_state_then_converges():
    published_while_down = []

    def go_down(f):
        f.unavailable = True
        return DROP

    def write_while_cut_off(f):   # e.g. another controller's operator, on the other side
        f.unavailable = False
        f.commit(puts=[node('c2', '10.0.0.2')])
        f.unavailable = True

    def come_back(f):
        f.unavailable = False

    def on_fleet(fleet, revision):
        if fake.unavailable:
            published_while_down.append(revision)

    fake = FakeRegistry([
        lambda f: f.commit(puts=[node('c1', '10.0.0.1')]),
        go_down, lambda f: None, write_while_cut_off, lambda f: None, lambda f: None,
        lambda f: None, lambda f: None, come_back,
    ])
    seen, log = follow(fake, on_fleet)
    assert len(log.matching('unreachable')) == 1
    assert 'fake:2379' in log.matching('unreachable')[0]
    assert 'keeping the last applied state (revision 2)' in log.matching('unreachable')[0]
    assert len(log.matching('reachable again')) == 1
    assert not published_while_down
    # Backoff: doubling from MIN_BACKOFF, capped at MAX_BACKOFF.
    assert fake.sleeps[:7] == [min(MIN_BACKOFF * 2 ** i, MAX_BACKOFF) for i in range(7)]
    assert fake.sleeps[6] == MAX_BACKOFF
    fleet, revision = seen[-1]
    assert set(fleet.nodes) == {'c1', 'c2'} and revision == fake.revision


def test_malformed_records_logged_once_rest_applies():
    bad_json = ('%s/nodes/broken' % P, b'{"local_ip": ')
    bad_vni_key = ('%s/vpcs/034' % P, b'{}')
    orphan = port('nowhere', 'p9', 34, 'fa:16:3e:00:00:09')
    fake = FakeRegistry([
        lambda f: f.commit(puts=[node('c1', '10.0.0.1'), vpc(34), bad_json, bad_vni_key,
                                 orphan]),
        lambda f: f.commit(puts=[port('c1', 'p1', 34, 'fa:16:3e:00:00:01')]),
        lambda f: f.commit(puts=[vpc(35)]),
        lambda f: f.commit(puts=[('%s/nodes/broken' % P, b'{"local_ip": "10.0.0.9"}')]),
        lambda f: f.commit(puts=[('%s/nodes/broken' % P, b'[]')]),   # broken again
    ])
    seen, log = follow(fake)
    fleet, _ = seen[-1]
    assert set(fleet.nodes) == {'c1'} and set(fleet.vpcs) == {34, 35}
    assert ports(fleet) == {('c1', 'p1')}
    skipped = [line for level, line in log.lines if 'skipped' in line]
    assert len(log.matching(bad_vni_key[0])) == 1
    assert len(log.matching(orphan[0])) == 1
    assert 'nowhere' in log.matching(orphan[0])[0]
    # Broken, fixed, broken again: two lines for that key, each naming it and the reason.
    broken = log.matching(bad_json[0])
    assert len(broken) == 2 and 'not JSON' in broken[0] and 'not a JSON object' in broken[1]
    assert len(skipped) == 4


def test_on_fleet_exception_is_logged_and_loop_goes_on():
    calls = []

    def on_fleet(fleet, revision):
        calls.append(revision)
        raise RuntimeError('switch said no')

    fake = FakeRegistry([lambda f: f.commit(puts=[vpc(34)]), lambda f: f.commit(puts=[vpc(35)])])
    follow(fake, on_fleet)
    assert calls == [1, 2, 3]


def test_a_burst_is_published_as_fast_as_publishing_goes_not_per_transaction():
    """Publishing is expensive at scale (parse 100k records, plan a resync): batches that
    come while the last publish's cost has not passed again wait for a later publish."""
    clock = Ticks(0.01)

    def slow(fleet, revision):
        clock.now += 1.0                        # this publish took a second

    steps = [lambda f, i=i: f.commit(puts=[vpc(100 + i)]) for i in range(50)]
    fake = FakeRegistry(steps)
    seen, _ = follow(fake, slow, clock=clock)
    assert len(seen) < 5                          # 50 transactions, a handful of publishes
    assert sorted(seen[-1][0].vpcs) == sorted(
        parse_fleet(P, fake.states[max(fake.states)])[0].vpcs)   # the last state, complete


def test_cheap_publishes_follow_every_transaction():
    steps = [lambda f, i=i: f.commit(puts=[vpc(100 + i)]) for i in range(20)]
    seen, _ = follow(FakeRegistry(steps), clock=lambda: 0.0)    # publishes cost nothing
    assert len(seen) == 21                        # the first read, then each transaction


def test_a_held_back_batch_is_published_when_the_stream_fails_and_etcd_stays_down():
    """A batch kept for a later publish must not wait for etcd to come back."""
    clock = Ticks(0.01)

    def slow(fleet, revision):
        clock.now += 1.0                         # publishing is expensive: batches wait

    class DiesMidStream(FakeRegistry):
        def watch(self, start_revision):
            yield from super().watch(start_revision)
            self.unavailable = True              # etcd goes away and stays away
            raise RegistryUnavailable('fake:2379', 'connection reset')

    def stop_after_outage(f):
        f.done = f.unavailable                   # a few retries later, end the test

    steps = [lambda f, i=i: f.commit(puts=[vpc(200 + i)]) for i in range(5)]
    fake = DiesMidStream(steps + [lambda f: None] + [stop_after_outage] * 3)
    seen, _ = follow(fake, slow, clock=clock)
    assert sorted(seen[-1][0].vpcs) == [200, 201, 202, 203, 204]


def test_a_publish_parses_only_the_records_written_since(monkeypatch):
    """At 50k records a port add must not parse 50k records: a batch parses what it wrote.
    A full read (here after compaction) parses what it read."""
    parsed = []
    real = follow_module.parse_or_error
    monkeypatch.setattr(follow_module, 'parse_or_error',
                        lambda prefix, key, value: parsed.append(key) or real(prefix, key, value))

    def compact_and_lose_stream(f):
        f.commit(puts=[port('c1', 'p2', 35, 'fa:16:3e:00:00:02')])
        f.commit(deletes=[port('c1', 'p1', 34, '')[0]])
        f.compact()
        return DROP

    fake = FakeRegistry([
        lambda f: f.commit(puts=[node('c1', '10.0.0.1'), vpc(34),
                                 port('c1', 'p1', 34, 'fa:16:3e:00:00:01')]),
        lambda f: f.commit(puts=[vpc(35)], deletes=[vpc(34)[0]]),
        compact_and_lose_stream,
    ])
    seen, _ = follow(fake)
    assert fake.reads == 2 and len(seen) >= 3
    assert parsed[:4] == [node('c1', '10.0.0.1')[0], vpc(34)[0],
                          port('c1', 'p1', 34, '')[0], vpc(35)[0]]
    assert sorted(parsed[4:]) == sorted(fake.kv)   # the full read
    assert [(p.node, p.port_id) for p in seen[-1][0].ports] == [('c1', 'p2')]


def test_a_failed_publish_loses_no_change():
    """A publish that fails half-way (a MemoryError in the parse, say) leaves its changes
    for the next one: every fleet published is still the registry at its revision."""
    now, calls = [0.0], [0]

    def offload(func, *args):
        calls[0] += 1
        if calls[0] == 1:
            now[0] += 10          # the first publish takes 10 s: the next batch waits
        if calls[0] == 2:
            raise MemoryError('out of memory in the parse')
        return func(*args)

    def late(commit):
        def step(f):
            now[0] += 20          # a batch that comes late enough to be published
            commit(f)
        return step

    fake = FakeRegistry([
        lambda f: f.commit(puts=[node('c1', '10.0.0.1'), vpc(34),
                                 port('c1', 'p1', 34, 'fa:16:3e:00:00:01')]),
        late(lambda f: f.commit(puts=[port('c1', 'p2', 34, 'fa:16:3e:00:00:02')])),
    ])
    seen, log = [], Log()
    follower = Follower(fake, P, lambda fleet, rev: seen.append((fleet, rev)), log,
                        sleep=fake.sleep, clock=lambda: now[0], offload=offload)
    follower.run(lambda: fake.done)
    assert calls[0] >= 3 and seen
    for fleet, revision in seen:
        assert fleet == parse_fleet(P, fake.states[revision])[0], revision
    assert ports(seen[-1][0]) == {('c1', 'p1'), ('c1', 'p2')}


def test_a_value_nested_too_deep_for_json_is_one_bad_record():
    fake = FakeRegistry([lambda f: f.commit(puts=[
        node('c1', '10.0.0.1'), vpc(34), ('%s/vpcs/35' % P, b'[' * 200000)])])
    seen, log = follow(fake)
    assert set(seen[-1][0].vpcs) == {34}
    assert len(log.matching('/vpcs/35')) == 1 and 'cannot be read' in log.matching('/vpcs/35')[0]


def test_running_out_of_memory_in_a_record_is_no_bad_record(monkeypatch):
    """A MemoryError while parsing a good record fails the publish (its changes wait for
    the next one); it must not make the record 'bad' for as long as it is not rewritten."""
    real, failed = records_module.json.loads, []

    def loads(text, *args, **kwargs):
        if not failed and 'name' in text:
            failed.append(text)
            raise MemoryError('no memory for this one')
        return real(text, *args, **kwargs)

    monkeypatch.setattr(records_module.json, 'loads', loads)
    fake = FakeRegistry([
        lambda f: f.commit(puts=[node('c1', '10.0.0.1'),
                                 ('%s/vpcs/34' % P, b'{"name": "blue"}'),
                                 port('c1', 'p1', 34, 'fa:16:3e:00:00:01')]),
        lambda f: f.commit(puts=[vpc(35)]),
    ])
    seen, log = follow(fake)
    assert failed and set(seen[-1][0].vpcs) == {34, 35} and ports(seen[-1][0]) == {('c1', 'p1')}
    assert not log.matching('cannot be read')
