"""Fuzz: random malformed config files fed to both real entry points.

Each file goes to ``ryu-vxlan-vpc bootstrap --dry-run`` and to ``ryu-manager ...
ryu_vxlan_vpc.app``. Whatever the file, neither may show a traceback; bootstrap exits 0 or
2, ryu-manager exits 2 or starts (its REST port answers, or it is still running after a
few seconds: the file was valid); every exit 2 says why in one line. The RNG seed is
printed (pytest -s) and named in every failure: RYU_VXLAN_VPC_FUZZ_SEED=<seed> replays it;
RYU_VXLAN_VPC_FUZZ_COUNT sets the number of files (default 200).

A valid file starts a real ryu-manager, so the generator never writes a usable
etcd_endpoints (registry mode would reach for etcd and OVSDB), and the manager listens on
127.0.0.1 only, on free ports given on its command line (they override the file).
"""
import collections
import os
import pathlib
import random
import string
import time
from concurrent.futures import ThreadPoolExecutor

from test_config_files_real import ALIVE, require_binaries, run_bootstrap, run_manager

from ryu_vxlan_vpc import config

SAMPLE = (pathlib.Path(__file__).resolve().parents[2] / 'etc' / 'ryu_vxlan_vpc' /
          'sample.conf').read_bytes()
GOOD = b'[vxlan_vpc]\nlocal_ip = 172.21.12.163\nremote_ips = 172.21.12.8\nvpcs = 0x22:12\n'
COUNT = int(os.environ.get('RYU_VXLAN_VPC_FUZZ_COUNT', '200'))
BUDGET = 240          # seconds: no new file starts after this; every started one finishes
MANAGER_ALIVE = 8.0   # seconds still running (REST not up yet) that count as "started"
NAMES = [o.dest for o in config.OPTS if o.dest != 'etcd_endpoints']
RYU_DEFAULTS = ['wsapi_host', 'wsapi_port', 'ofp_tcp_listen_port', 'verbose']
VALUES = ['172.21.12.8', '0.0.0.0', '127.0.0.1', '224.0.0.1', '255.255.255.255', '1.2.3',
          '::1', '0x22:12', '34:13,0x23:14', '0x22:5000', 'br-tun', 'br-int', 'vxlan-x',
          '4789', '-1', '99999999999999999999', '0x79', '0', 'netdev', 'system',
          'tcp:127.0.0.1:6633', 'unix:/tmp/x', '123:0x22', '123:0x22:ns:10.0.0.1/24', '',
          '"quoted"', "'q'", '$local_ip', '${vpcs}', '$$', '\\$x', 'café', 'a\u2028b',
          '\x1b[31mred', 'true', 'yes', '1.5', 'nan', '30']


def random_text(rng, n):
    return ''.join(rng.choice(string.printable) for _ in range(n))


def typo(rng, name):
    i = rng.randrange(len(name))
    return rng.choice([
        name[:i] + name[i + 1:], name[:i] + rng.choice(string.ascii_lowercase) + name[i:],
        name.replace('_', '-'), name.upper(), name + 's', name[:-1], ' ' + name])


def random_value(rng):
    return rng.choice(VALUES) if rng.random() < 0.8 else random_text(rng, rng.randrange(40))


def random_line(rng):
    name = rng.choice([rng.choice(NAMES), typo(rng, rng.choice(NAMES)),
                       ''.join(rng.choice(string.ascii_lowercase + '_') for _ in range(6))])
    return '%s%s%s' % (name, rng.choice([' = ', '=', ': ', ' ', '== ']), random_value(rng))


def mutate(rng, data):
    lines = data.split(b'\n')
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        line = lines[i]
        op = rng.randrange(9)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, line)                       # an option or section twice
        elif op == 2 and line:
            j = rng.randrange(len(line))
            lines[i] = line[:j] + line[j + 1:]          # a character lost
        elif op == 3:
            j = rng.randrange(len(line) + 1)
            lines[i] = line[:j] + bytes([rng.randrange(256)]) + line[j:]
        elif op == 4:
            lines[i] = b'  ' + line                     # a stray continuation
        elif op == 5 and b'=' in line:
            key = line.split(b'=')[0].strip().decode('utf-8', 'replace')
            lines[i] = ('%s = %s' % (typo(rng, key) if key else 'x', random_value(rng))
                        ).encode('utf-8', 'surrogatepass')
        elif op == 6:
            lines[i] = line.replace(b'=', b'', 1).replace(b']', b'', 1)
        elif op == 7:
            lines.insert(i, random_line(rng).encode('utf-8', 'surrogatepass'))
        else:
            lines.insert(i, rng.choice([b'[vxlan_vpc]', b'[DEFAULT]', b'[vxlan-vpc]',
                                        b'[VXLAN_VPC]', b'[default]', b'[other]', b'[]']))
    return b'\n'.join(lines)


def generate(rng):
    """(kind, bytes) of one random config file."""
    kind = rng.choice(['bytes', 'encoding', 'bom', 'truncated', 'options', 'sections',
                       'mutated', 'mutated', 'defaults'])
    if kind == 'bytes':
        data = rng.randbytes(rng.randrange(600))
    elif kind == 'encoding':
        text = (GOOD + b'# caf\xc3\xa9\n').decode()
        data = text.encode(rng.choice(['utf-16', 'utf-16-le', 'utf-16-be', 'utf-32',
                                       'latin-1', 'cp1252', 'utf-8-sig']))
    elif kind == 'bom':
        data = rng.choice([b'\xef\xbb\xbf', b'\xff\xfe', b'\xfe\xff']) + SAMPLE
    elif kind == 'truncated':
        data = SAMPLE[:rng.randrange(len(SAMPLE))]
    elif kind == 'options':
        data = ('[vxlan_vpc]\nlocal_ip = 172.21.12.163\n' + ''.join(
            random_line(rng) + '\n' for _ in range(rng.randint(1, 6)))).encode(
                'utf-8', 'surrogatepass')
    elif kind == 'sections':
        parts = [rng.choice([b'[vxlan_vpc]', b'[VXLAN_VPC]', b'[DEFAULT]', b'[vxlan-vpc]',
                             b'[Vxlan_Vpc]', b'[foo]', b'[vxlan_vpc] ', b'[ vxlan_vpc]'])
                 + b'\n' + rng.choice([GOOD.split(b'\n', 1)[1], b'vpcs = 0x23:13\n', b''])
                 for _ in range(rng.randint(1, 4))]
        data = b''.join(parts)
    elif kind == 'defaults':
        data = ('[DEFAULT]\n' + ''.join('%s = %s\n' % (rng.choice(RYU_DEFAULTS + NAMES),
                                                       random_value(rng))
                                        for _ in range(rng.randint(1, 3)))).encode() + GOOD
    else:
        data = mutate(rng, rng.choice([SAMPLE, GOOD]))
    # Never registry mode in a started manager (see the module docstring).
    return kind, data.replace(b'etcd_endpoints', b'etcd_endpointz')


def check_bootstrap(outcome):
    """None, or what is wrong with this outcome."""
    if 'Traceback' in outcome.output:
        return 'traceback'
    if outcome.code not in (0, 2):
        return 'exit status %s' % outcome.code
    if outcome.code == 2:
        lines = outcome.output.splitlines()
        if len(lines) != 2 or not lines[0].startswith('ryu-vxlan-vpc bootstrap: ') or \
                lines[1] != 'nothing was changed':
            return 'not one line saying why'
    return None


def check_manager(outcome):
    if 'Traceback' in outcome.output:
        return 'traceback'
    if outcome.code not in (2, ALIVE):
        return 'exit status %s' % outcome.code
    if outcome.code == 2:
        said = [line for line in outcome.output.splitlines()
                if line.startswith(('ryu-manager: ', 'bad configuration, not starting: '))]
        if len(said) != 1:
            return 'not one line saying why'
    return None


def test_fuzz_config_files(tmp_path):
    require_binaries()
    seed = int(os.environ.get('RYU_VXLAN_VPC_FUZZ_SEED') or random.randrange(1 << 32))
    print('\nconfig fuzz: seed %d (RYU_VXLAN_VPC_FUZZ_SEED=%d replays it), %d files'
          % (seed, seed, COUNT))
    rng = random.Random(seed)
    started = time.monotonic()
    files = []
    for i in range(COUNT):
        kind, data = generate(rng)
        path = tmp_path / ('%03d-%s.conf' % (i, kind))
        path.write_bytes(data)
        files.append((str(path), kind))

    def run(job):
        path, entry = job
        if time.monotonic() - started > BUDGET:
            return None
        if entry == 'bootstrap':
            outcome = run_bootstrap(path)
            return outcome, check_bootstrap(outcome)
        outcome = run_manager(path, path + '.log', alive_after=MANAGER_ALIVE,
                              extra=['--wsapi-host', '127.0.0.1',
                                     '--ofp-listen-host', '127.0.0.1'])
        return outcome, check_manager(outcome)

    jobs = [(path, entry) for path, _ in files for entry in ('bootstrap', 'ryu-manager')]
    with ThreadPoolExecutor(2) as pool:  # two processes at a time: the machine has 2 cores
        results = dict(zip(jobs, pool.map(run, jobs)))
    seconds = time.monotonic() - started

    counts = {'bootstrap': collections.Counter(), 'ryu-manager': collections.Counter()}
    pairs, kinds, problems = collections.Counter(), collections.Counter(), []
    for path, kind in files:
        got = {entry: results[(path, entry)] for entry in counts}
        if None in got.values():
            continue
        kinds[kind] += 1
        for entry, (outcome, problem) in got.items():
            counts[entry][outcome.code] += 1
            if problem:
                problems.append('%s %s: %s\n%s' % (entry, path, problem, outcome.output[-1500:]))
        pairs[(got['bootstrap'][0].code, got['ryu-manager'][0].code)] += 1
    done = sum(kinds.values())
    print('config fuzz: %d files in %.1f s; kinds %s' % (done, seconds, dict(kinds)))
    for entry, counter in counts.items():
        print('  %-11s %s' % (entry, dict(sorted(counter.items(), key=str))))
    print('  (bootstrap, ryu-manager): %s' % dict(sorted(pairs.items(), key=str)))
    assert not problems, 'seed %d: %d failures, first:\n%s' % (seed, len(problems), problems[0])
    assert done == COUNT, 'seed %d: only %d of %d files within %d s' % (seed, done, COUNT,
                                                                        BUDGET)
