"""Follow the registry: read it all once, then apply watch events, forever.

Ryu-free and thread-free: ``run`` blocks in the caller (a green thread in ryu-manager, a
plain thread in tests) and calls ``on_fleet(fleet, revision)`` with the whole parsed fleet
each time it changes. ``sleep`` and ``clock`` are injectable so tests need no real time.

Failure handling, and why:
- watch lost or idle (the stream ends): open a new one from the last revision + 1; etcd keeps
  history, so nothing in between is missed.
- that revision was compacted away: read everything again, then watch from there.
- etcd unreachable: keep the last applied state (a controller must not tear down the overlay
  because its registry blinked), say so once, retry with backoff 0.5 s doubling to 10 s, and
  on return say so once and read everything again.
- a burst of changes (thousands of transactions): each publish puts the whole fleet
  together and the app plans a resync, which at 100k ports takes about a second. So a
  batch that comes sooner after the last publish than that publish took is kept and
  published with a later batch, or when the stream goes quiet (the registry's
  ``watch_idle``). Publishing then takes at most about half the time, however many
  transactions come; a small registry (a publish of milliseconds) publishes every batch.

Memory: the registry is held once, parsed (``records``: each key's record). Values wait
in ``changes`` only until the next publish parses them. (A full read, after an outage or a
compaction, parses every record again: rare, and done off the event loop. Keeping each
record's revision to spare that cost 3 MiB at 50k records.)
"""
import time

from ryu_vxlan_vpc.registry.etcd import Compacted, RegistryUnavailable
from ryu_vxlan_vpc.registry.records import assemble_fleet, normalize_prefix, parse_or_error

MIN_BACKOFF = 0.5
MAX_BACKOFF = 2.0   # a returning etcd is seen within 2 s


class Follower:
    def __init__(self, registry, prefix, on_fleet, log, sleep=time.sleep,
                 clock=time.monotonic, offload=None):
        self.registry = registry
        self.prefix = normalize_prefix(prefix)
        self.on_fleet = on_fleet
        self.log = log
        self.sleep = sleep
        self.clock = clock
        # Runs the parse and the fleet's assembly (100k records: about a second);
        # ryu-manager passes a native thread pool's execute, so the event loop keeps
        # serving the switches meanwhile.
        self.offload = offload or (lambda func, *args: func(*args))
        self.records = {}       # key -> record or RecordError, as published
        self.changes = {}       # key -> value bytes, or None: deleted since
        self.revision = None    # last revision applied (None: nothing read yet)
        self.down = False       # etcd unreachable (said once)
        # Whether the last read or watch of etcd worked; None until the first one ends.
        # Metrics show it (registry_connected); a quiet watch re-opens every watch_idle.
        self.connected = None
        self._reported = set()  # (key, reason) of malformed records already logged
        self.published_at = None  # clock() at the end of the last publish
        self.publish_cost = 0.0   # how long it took
        self.pending = False      # changes wait for a later publish

    def run(self, stop_flag):
        """Loop until ``stop_flag`` (a threading.Event, or any callable) is set."""
        stopped = stop_flag.is_set if hasattr(stop_flag, 'is_set') else stop_flag
        need_full, backoff = True, MIN_BACKOFF
        while not stopped():
            try:
                if need_full:
                    self._read_all()
                    need_full, backoff = False, MIN_BACKOFF
                self._watch(stopped)
            except Compacted as e:
                self.log.info('etcd history is compacted up to revision %d (we were at %d): '
                              'reading the whole registry again', e.revision, self.revision)
                need_full = True
            except RegistryUnavailable as e:
                self.connected = False
                if not self.down:
                    self.down = True
                    kept = ('nothing read yet' if self.revision is None else
                            'keeping the last applied state (revision %d)' % self.revision)
                    self.log.warning('%s; %s and retrying', e, kept)
                need_full = True
                self.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except Exception:  # a bug here must not stop the controller following etcd
                self.log.exception('following the registry failed; reading it all again')
                need_full = True
                self.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _read_all(self):
        kvs, revision = self.registry.read_all()
        self.connected = True
        if self.down:
            self.down = False
            self.log.info('etcd is reachable again: reading the whole registry (revision %d)',
                          revision)
        # What the read says replaces whatever was still to be published.
        self.changes = {key: None for key in self.records if key not in kvs}
        self.changes.update(kvs)
        del kvs
        self.revision = revision
        self._publish()

    def _watch(self, stopped):
        try:
            self._watch_batches(stopped)
        finally:
            # Also when the stream fails mid-way: the changes read so far are published.
            if self.pending:
                self._publish()

    def _watch_batches(self, stopped):
        started, seen = self.clock(), False
        for batch in self.registry.watch(self.revision + 1):
            seen = self.connected = True
            for kind, key, value, mod_revision in batch:
                self.changes[key] = None if kind == 'delete' else value
                self.revision = max(self.revision, mod_revision)
            if (self.published_at is not None
                    and self.clock() - self.published_at < self.publish_cost):
                self.pending = True     # published with a later batch, or when quiet
            else:
                self._publish()
            if stopped():
                return
        self.connected = True   # it opened (a lost stream fails when it is re-opened)
        # The stream ended (lost, or idle for the registry's watch_idle): the caller resumes
        # from self.revision + 1. A stream that keeps ending at once would spin: pause.
        if not seen and self.clock() - started < MIN_BACKOFF:
            self.sleep(MIN_BACKOFF)

    def _publish(self):
        started = self.clock()
        changes, self.changes = self.changes, {}
        try:
            fleet, problems = self.offload(_apply, self.prefix, self.records, changes)
        except BaseException:
            # Perhaps applied in part: they wait for the next publish, which applies them
            # all (applying one twice is applying it once); later ones win.
            changes.update(self.changes)
            self.changes = changes
            raise
        del changes
        current = set()
        for key, reason in problems:
            mark = (key, reason)
            current.add(mark)
            if mark not in self._reported:
                self.log.warning('registry record %s skipped: %s', key, reason)
        # Forget fixed records, so one that breaks again is reported again.
        self._reported = current
        self.pending = False
        try:
            self.on_fleet(fleet, self.revision)
        except Exception:
            self.log.exception('applying the registry at revision %d failed', self.revision)
        self.published_at = self.clock()
        self.publish_cost = self.published_at - started


def _apply(prefix, records, changes):
    """Parse ``changes`` into ``records`` (in place) and put the fleet together:
    (Fleet, [(key, reason)]), as records.parse_fleet gives for the registry's content."""
    for key, value in changes.items():
        if value is None:
            records.pop(key, None)
        else:
            records[key] = parse_or_error(prefix, key, value)
    return assemble_fleet((key, records[key]) for key in sorted(records))
