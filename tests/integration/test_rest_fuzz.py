"""Random malformed REST requests over raw sockets to the real ryu-manager (issue 10).

Methods, paths with %xx and raw non-UTF-8 bytes, bad query values, huge and numerous
headers, bad Content-Length / Transfer-Encoding, bodies, bad HTTP versions, pipelining and
truncation at a random byte. Whatever arrives: never a 500, never a traceback, ryu-manager
alive and answering, and br-tun's flows untouched. The RNG seed is printed; replay a run
with RYU_VXLAN_VPC_FUZZ_SEED=<seed>. Bounded by COUNT requests and BUDGET seconds;
traffic goes only to 127.0.0.1 inside the test's namespace.
"""
import collections
import os
import random
import re
import time

from realenv import wait_for
from ryu_vxlan_vpc.flows import text
from test_rest_hardening import (exchange, has_traceback, limits, rest_answers,
                                 start_controller)

COUNT = 3000
BUDGET = 40  # seconds for sending; the whole test stays well under a minute
STATUS_RE = re.compile(rb'(?m)^HTTP/\d\.\d (\d{3}) ')

# Paths a well-formed request may take (they reach the handlers), then odd ones.
GOOD_PATHS = ['/vxlan-vpc/switches', '/vxlan-vpc/flows', '/vxlan-vpc/vpcs', '/vxlan-vpc/macs',
              '/vxlan-vpc', '/vxlan-vpc/', '/vxlan-vpc/tables', '/vxlan-vpc/tunnels',
              '/vxlan-vpc/fleet', '/vxlan-vpc/trace', '/vxlan-vpc/ui/', '/vxlan-vpc/ui/app.js',
              '/vxlan-vpc/ui', '/metrics']
PATHS = GOOD_PATHS + ['/', '/stats/switches', '*', '/vxlan-vpc/../etc',
                      '/vxlan-vpc/ui/../../etc/passwd', '/vxlan-vpc/ui/..%2fapi.py',
                      'http://127.0.0.1:8080/vxlan-vpc/flows', 'vxlan-vpc/flows',
                      '//vxlan-vpc//flows']
METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH',
           'TRACE', 'CONNECT', 'get', 'G\xffT', '', 'X' * 300]
PARAMS = ['dpid', 'table', 'cookie', 'format', 'node_port', 'tunnel', 'vpc', 'dst', 'src', 'arp']
VALUES = ['0', '20', '0x14', '254', '255', '-1', '1e3', '0x', '%ff', '%c3%28', '\xff', '%00',
          '99999999999999999999999', '9' * 5000, 'text', 'json', 'xml', '', '%', '%zz',
          '0000000000000001', '0xffffffffffffffff', '18446744073709551616', '+1', ' 1',
          '0x22', 'fa:16:3e:00:00:01', 'ff:ff:ff:ff:ff:ff', 'vxlan-ac150c08', 'qvo-x',
          '-oops', '192.168.10.12', '1.2.3', 'fa:16:3e:00:00']
VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1x',
            'http/1.1', 'HTTP/1', 'HTTP/', 'FOO/1.1', 'HTTP/1.1 extra', None]


def _bytes(s):
    return s.encode('latin-1') if isinstance(s, str) else s


def random_bytes(rng, n):
    return bytes(rng.randrange(256) for _ in range(n))


def random_path(rng):
    path = _bytes(rng.choice(PATHS))
    roll = rng.random()
    if roll < 0.2:
        path += b'/%%%02x' % rng.randrange(256)
    elif roll < 0.3:
        path += b'/' + random_bytes(rng, rng.randrange(1, 8)).replace(b' ', b'').replace(
            b'\r', b'').replace(b'\n', b'').replace(b'?', b'')
    elif roll < 0.35:
        path += b'/' + b'a' * rng.choice([100, 5000, 9000])  # 9000: over eventlet's limit
    elif roll < 0.4:
        path += b'%' + rng.choice([b'', b'f', b'zz', b'c3%28', b'e2%82'])
    return path


def random_query(rng):
    if rng.random() < 0.3:
        return b''
    pairs = []
    for _ in range(rng.randrange(1, 4)):
        name = rng.choice(PARAMS + ['tabel', '%ff', '', '\xfe', 'x' * 50])
        value = rng.choice(VALUES)
        pairs.append(_bytes(name) + (b'=' + _bytes(value) if rng.random() < 0.9 else b''))
    if rng.random() < 0.1:
        pairs.append(b'&&=&')
    return b'?' + b'&'.join(pairs)


def random_headers(rng):
    headers = [b'Host: 127.0.0.1'] if rng.random() < 0.8 else []
    roll = rng.random()
    if roll < 0.05:
        headers.append(b'X-Big: ' + b'a' * rng.choice([8000, 9000, 70000]))
    elif roll < 0.1:
        headers += [b'X-%d: %d' % (i, i) for i in range(rng.choice([99, 101, 300]))]
    elif roll < 0.15:
        headers.append(b'no colon here')
    elif roll < 0.2:
        headers.append(b'X-Bytes: ' + random_bytes(rng, 20).replace(b'\r', b'').replace(
            b'\n', b''))
    elif roll < 0.25:
        headers.append(b' folded continuation')
    if rng.random() < 0.2:
        headers.append(b'Connection: ' + rng.choice([b'close', b'keep-alive', b'\xff']))
    if rng.random() < 0.1:
        headers.append(b'Expect: 100-continue')
    return headers


def random_body(rng, headers):
    roll = rng.random()
    if roll < 0.7:
        return b''
    body = random_bytes(rng, rng.choice([0, 1, 10, 1000, 70000]))
    if roll < 0.8:
        headers.append(b'Content-Length: %d' % len(body))
    elif roll < 0.85:
        headers.append(b'Content-Length: ' + rng.choice([b'-1', b'abc', b'1e9', b'', b'99999999',
                                                         b'1, 2']))
    elif roll < 0.95:
        headers.append(b'Transfer-Encoding: chunked')
        body = rng.choice([b'5\r\nhello\r\n0\r\n\r\n', b'zz\r\nhello\r\n', b'ffffffff\r\nab',
                           b'0\r\n\r\n'])
        if rng.random() < 0.3:
            headers.append(b'Content-Length: 5')
    return body


def well_formed_request(rng):
    """A valid GET with random (often bad) query values: these reach the handlers."""
    path = _bytes(rng.choice(GOOD_PATHS))
    return b'GET %s%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' % (path, random_query(rng))


def random_request(rng):
    if rng.random() < 0.4:
        return well_formed_request(rng)
    method = _bytes(rng.choice(METHODS))
    target = random_path(rng) + random_query(rng)
    version = rng.choice(VERSIONS)
    line = method + b' ' + target + (b' ' + _bytes(version) if version else b'')
    headers = random_headers(rng)
    body = random_body(rng, headers)
    eol = b'\r\n' if rng.random() < 0.9 else b'\n'
    request = line + eol + b''.join(h + eol for h in headers) + eol + body
    if rng.random() < 0.1:  # pipelined: a good request behind it
        request += b'GET /vxlan-vpc/vpcs HTTP/1.1\r\nHost: x\r\n\r\n'
    if rng.random() < 0.15:  # truncated anywhere
        request = request[:rng.randrange(len(request) + 1)]
    return request


def br_tun_flows(node):
    return sorted(text.parse_dump(node.ofctl('dump-flows', 'br-tun')))


def test_random_malformed_requests(node, tmp_path):
    seed = int(os.environ.get('RYU_VXLAN_VPC_FUZZ_SEED')
               or random.SystemRandom().randrange(1 << 32))
    print('\nREST fuzz seed %d (replay: RYU_VXLAN_VPC_FUZZ_SEED=%d)' % (seed, seed))
    rng = random.Random(seed)
    ryu = start_controller(node, tmp_path / 'ryu.log')
    try:
        flows_before = br_tun_flows(node)
        log_before = len(ryu.log())
        statuses, bad, sent = collections.Counter(), [], 0
        start = time.monotonic()
        while sent < COUNT and time.monotonic() - start < BUDGET:
            request = random_request(rng)
            # A request the server will wait on (truncated before its end) is answered
            # when we half-close; a dead server would make this time out, not hang.
            answer = exchange(node.netns, request, timeout=limits.DRAIN_SECONDS + 3)
            sent += 1
            codes = [int(c) for c in STATUS_RE.findall(answer)] or ['none']
            statuses.update(codes)
            if 500 in codes or has_traceback(answer):
                bad.append((request[:300], answer[:600]))
        took = time.monotonic() - start
        histogram = ', '.join('%s: %d' % (k, v) for k, v in
                              sorted(statuses.items(), key=lambda kv: str(kv[0])))
        print('sent %d requests in %.1f s; statuses: %s' % (sent, took, histogram))
        assert sent >= 1000, 'only %d requests in %ss (seed %d)' % (sent, BUDGET, seed)
        assert not bad, 'seed %d: %d answers with 500 or a traceback, first: %r' % (
            seed, len(bad), bad[0])
        assert ryu.proc.poll() is None, 'ryu-manager died (seed %d)' % seed
        wait_for(lambda: rest_answers(node.netns), 5, 'REST to answer after the fuzz')
        assert br_tun_flows(node) == flows_before, 'flows changed (seed %d)' % seed
        new_log = ryu.log()[log_before:]
        assert 'Traceback' not in new_log, new_log[new_log.index('Traceback'):][:3000]
    finally:
        ryu.stop()
