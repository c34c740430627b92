"""A thin etcd v3 client for the registry, over etcd's HTTP/JSON gateway (etcd3gw).

Only three operations: read everything under the prefix, one transaction, and a watch.
The watch is ours, not etcd3gw's: etcd3gw's runs the stream in a thread pool and hands
events over a queue, which would block eventlet's hub inside ryu-manager. Here the stream
is read in the calling (green) thread.

A watch must not hang forever on a dead server, and etcd's progress notifications come only
every ~10 minutes by default, so the stream is read with an idle timeout (``watch_idle``,
a few seconds): when nothing arrives for that long the watch simply ends, and the caller
opens a new one from the last revision it saw + 1. Opening it again is the liveness check:
a dead server then fails to connect and raises ``RegistryUnavailable``.
"""
import base64
import json
import re
import warnings

import requests
from urllib3 import exceptions as urllib3_exc

with warnings.catch_warnings():
    # etcd3gw -> futurist imports eventlet only to probe for it, and eventlet warns on
    # import; that warning would end up on the fleet CLI's stderr.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    import etcd3gw
    from etcd3gw import exceptions as etcd_exc

from ryu_vxlan_vpc.registry.records import DEFAULT_ENDPOINT, DEFAULT_PREFIX, normalize_prefix

DEFAULT_TIMEOUT = 5.0
DEFAULT_WATCH_IDLE = 5.0
READ_PAGE = 5000   # keys per range request of a full read
READ_ATTEMPTS = 3  # full reads started over when etcd compacts away their revision
_COMPACTED = re.compile(r'required revision has been compacted')
_HOST_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$')


class RegistryUnavailable(Exception):
    """etcd could not be reached or answered with an error; names the endpoint."""

    def __init__(self, endpoint, why):
        super().__init__('etcd at %s is unreachable: %s' % (endpoint, why))
        self.endpoint = endpoint
        self.why = why


class Compacted(Exception):
    """The watch's start revision was compacted away: read everything again."""

    def __init__(self, revision):
        super().__init__('etcd history is compacted up to revision %d' % revision)
        self.revision = revision


def parse_endpoints(text):
    """'HOST:PORT[,HOST:PORT...]' -> [(host, port)]; ValueError naming the bad item."""
    result = []
    for item in (text or '').split(','):
        item = item.strip()
        host, sep, port = item.rpartition(':')
        if item.startswith('http://') or item.startswith('https://'):
            raise ValueError('etcd endpoint %r: give HOST:PORT, without a scheme' % item)
        if not sep or not _HOST_RE.match(host) or not port.isdigit() or not (
                1 <= int(port) <= 65535):
            raise ValueError('etcd endpoint %r is not HOST:PORT (e.g. 127.0.0.1:2379)' % item)
        result.append((host, int(port)))
    return result


def _b64(text):
    return base64.b64encode(text.encode('utf-8') if isinstance(text, str) else text).decode()


def _unb64(text):
    return base64.b64decode(text or '')


def _range_end(prefix):
    """The key just after every key that starts with ``prefix`` (etcd's prefix range)."""
    raw = prefix.encode('utf-8')
    return raw[:-1] + bytes([raw[-1] + 1])


def _short(error):
    """'[Errno 111] Connection refused' out of requests' long wrapped messages."""
    text = str(error)
    m = re.search(r'\[Errno -?\d+\] ([^\'")\]]+)', text)
    if m:
        return m.group(1).strip().lower()
    if isinstance(error, (requests.exceptions.Timeout, urllib3_exc.TimeoutError,
                          etcd_exc.ConnectionTimeoutError)):
        return 'timed out'
    return text or type(error).__name__


class Registry:
    """The fleet's etcd. ``endpoints`` is 'HOST:PORT[,HOST:PORT...]', tried in order
    (the last one that answered first)."""

    def __init__(self, endpoints=DEFAULT_ENDPOINT, prefix=DEFAULT_PREFIX,
                 timeout=DEFAULT_TIMEOUT, watch_idle=DEFAULT_WATCH_IDLE):
        self.endpoints = parse_endpoints(endpoints)
        self.prefix = normalize_prefix(prefix)
        self.timeout = timeout
        self.watch_idle = watch_idle
        # etcd 3.4+ serves /v3/; pinning it saves a /version round trip per client.
        self._clients = [etcd3gw.client(host=h, port=p, timeout=timeout, api_path='/v3/')
                         for h, p in self.endpoints]
        self._order = list(range(len(self._clients)))

    def __repr__(self):
        return 'Registry(%r, prefix=%r)' % (self.endpoints_text, self.prefix)

    @property
    def endpoints_text(self):
        return ','.join('%s:%d' % e for e in self.endpoints)

    def _name(self, i):
        return '%s:%d' % self.endpoints[i]

    def _post(self, path, body, stream=False):
        """POST to the first endpoint that answers; RegistryUnavailable if none does."""
        failures = []
        for i in list(self._order):
            client = self._clients[i]
            try:
                if stream:
                    resp = client.session.post(client.get_url(path), json=body, stream=True,
                                               timeout=(self.timeout, self.watch_idle))
                else:
                    resp = client.session.post(client.get_url(path), json=body,
                                               timeout=self.timeout)
            except (requests.exceptions.RequestException, etcd_exc.Etcd3Exception,
                    OSError) as e:
                failures.append((i, _short(e)))
                continue
            if resp.status_code != 200:
                why = 'HTTP %d %s' % (resp.status_code, resp.text[:200].strip())
                resp.close()
                if resp.status_code >= 500:  # this member is unwell: try the next one
                    failures.append((i, why))
                    continue
                raise RegistryUnavailable(self._name(i), why)
            self._order.remove(i)
            self._order.insert(0, i)
            return i, resp
        if len(failures) == 1:
            raise RegistryUnavailable(self._name(failures[0][0]), failures[0][1])
        raise RegistryUnavailable(self.endpoints_text,
                                  '; '.join('%s: %s' % (self._name(i), w) for i, w in failures))

    def _call(self, path, body):
        i, resp = self._post(path, body)
        try:
            return resp.json()
        except ValueError:
            raise RegistryUnavailable(self._name(i), 'answer is not JSON') from None

    # --- reads and writes ----------------------------------------------------------------

    def read_all_meta(self, page=READ_PAGE):
        """({key: (value bytes, mod_revision)}, revision) for every key under the prefix,
        all as of one revision (the first page's; the others ask for it). Read ``page``
        keys at a time: one answer for 50k records would be 15 MiB of JSON, and parsed at
        once several times that (ryu-manager's peak memory). Should etcd compact that
        revision away between two pages, the read starts over (a few times at most)."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return self._read_pages(page)
            except RegistryUnavailable as e:
                if attempt + 1 == READ_ATTEMPTS or not _COMPACTED.search(e.why):
                    raise

    def _read_pages(self, page):
        base = self.prefix + '/'
        body = {'key': _b64(base), 'range_end': _b64(_range_end(base)), 'limit': page}
        kvs, revision = {}, None
        while True:
            result = self._call('/kv/range', body)
            if revision is None:
                revision = int(result.get('header', {}).get('revision', 0))
                body['revision'] = revision
            last = None
            for kv in result.get('kvs', []):
                last = _unb64(kv['key'])
                kvs[last.decode('utf-8', 'replace')] = (_unb64(kv.get('value')),
                                                        int(kv.get('mod_revision', 0)))
            if not result.get('more') or last is None:
                return kvs, revision
            body['key'] = _b64(last + b'\0')   # the next key after the last one read

    def read_all(self):
        """({key: value bytes}, revision) for every key under the prefix."""
        kvs, revision = self.read_all_meta()
        return {k: v for k, (v, _) in kvs.items()}, revision

    def transaction(self, compares=(), puts=(), deletes=(), delete_prefixes=(),
                    unchanged_since=()):
        """One etcd transaction; True if it was applied, False if a compare failed.

        compares:        [(key, mod_revision)]: the key is still at that revision (0: absent)
        unchanged_since: [(prefix, revision)]: no key under prefix was written after revision
        puts:            {key: value} or [(key, value)]
        deletes:         [key];  delete_prefixes: [prefix] (every key under it)
        """
        compare = [{'key': _b64(k), 'target': 'MOD', 'result': 'EQUAL', 'mod_revision': rev}
                   for k, rev in compares]
        compare += [{'key': _b64(p), 'range_end': _b64(_range_end(p)), 'target': 'MOD',
                     'result': 'LESS', 'mod_revision': rev + 1}
                    for p, rev in unchanged_since]
        puts = puts.items() if isinstance(puts, dict) else puts
        success = [{'request_put': {'key': _b64(k), 'value': _b64(v)}} for k, v in puts]
        success += [{'request_delete_range': {'key': _b64(k)}} for k in deletes]
        success += [{'request_delete_range': {'key': _b64(p), 'range_end': _b64(_range_end(p))}}
                    for p in delete_prefixes]
        result = self._call('/kv/txn', {'compare': compare, 'success': success, 'failure': []})
        return bool(result.get('succeeded', False))

    def compact(self, revision):
        """Drop history before ``revision`` (tests and maintenance)."""
        self._call('/kv/compaction', {'revision': revision, 'physical': True})

    # --- watch ---------------------------------------------------------------------------

    def watch(self, start_revision):
        """Yield batches [(kind 'put'|'delete', key, value bytes|None, mod_revision)] for
        every change under the prefix from ``start_revision`` on, one batch per etcd watch
        response (a transaction's events always come together).

        Ends (returns) when the stream is lost or idle for ``watch_idle`` seconds: the caller
        resumes from the last mod_revision + 1. Raises Compacted if ``start_revision`` is
        gone, RegistryUnavailable if the watch cannot be opened.
        """
        base = self.prefix + '/'
        body = {'create_request': {'key': _b64(base), 'range_end': _b64(_range_end(base)),
                                   'start_revision': start_revision}}
        i, resp = self._post('/watch', body, stream=True)
        created = False
        try:
            for line in self._lines(resp):
                msg = json.loads(line)
                if 'error' in msg:
                    raise RegistryUnavailable(self._name(i), 'watch error: %s'
                                              % msg['error'].get('message', msg['error']))
                result = msg.get('result', {})
                compact = int(result.get('compact_revision', 0) or 0)
                if compact:
                    raise Compacted(compact)
                if result.get('canceled'):
                    raise RegistryUnavailable(self._name(i), 'watch canceled: %s'
                                              % result.get('cancel_reason', 'no reason given'))
                if result.get('created'):
                    created = True
                events = result.get('events')
                if events:
                    yield [_event(e) for e in events]
        except (requests.exceptions.RequestException, urllib3_exc.HTTPError, OSError) as e:
            if not created:  # never got going: this is an outage, not a lost stream
                raise RegistryUnavailable(self._name(i), _short(e)) from None
        except ValueError as e:
            raise RegistryUnavailable(self._name(i), 'bad watch answer: %s' % e) from None
        finally:
            resp.close()

    @staticmethod
    def _lines(resp):
        """Lines of a chunked stream as they arrive (chunk_size=None: don't wait to fill a
        buffer, which would stall the watch until more events come)."""
        pending = b''
        for chunk in resp.iter_content(chunk_size=None):
            pending += chunk
            while b'\n' in pending:
                line, pending = pending.split(b'\n', 1)
                if line.strip():
                    yield line
        if pending.strip():
            yield pending


def _event(event):
    kv = event.get('kv', {})
    key = _unb64(kv.get('key')).decode('utf-8', 'replace')
    # The gateway leaves out enum defaults: a PUT event has no "type".
    if event.get('type', 'PUT') == 'DELETE':
        return ('delete', key, None, int(kv.get('mod_revision', 0)))
    return ('put', key, _unb64(kv.get('value')), int(kv.get('mod_revision', 0)))
