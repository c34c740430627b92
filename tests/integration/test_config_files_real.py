"""Malformed config files against the real entry points, as operators run them.

``ryu-vxlan-vpc bootstrap --dry-run --config-file F`` and ``ryu-manager --config-file F
ryu_vxlan_vpc.app`` must each exit 2 within seconds, with exactly one output line naming
the file and the problem (and the option and value where there is one), and no traceback
anywhere. No OVS is needed: both stop before any switch. The processes of all cases run
at once (a few at a time) in one module fixture; each case is then its own test.
"""
import collections
import importlib.metadata
import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from realenv import BIN, RyuManager, require

GOOD = b'[vxlan_vpc]\nlocal_ip = 172.21.12.163\nremote_ips = 172.21.12.8\nvpcs = 0x22:12\n'
ALIVE = 'alive'
Outcome = collections.namedtuple('Outcome', 'code output seconds')


def require_binaries():
    require(next(('%s not installed next to the test interpreter (make install)' % name
                  for name in ('ryu-manager', 'ryu-vxlan-vpc')
                  if not os.path.exists(os.path.join(BIN, name))), None))


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_bootstrap(path, timeout=60):
    started = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, 'ryu-vxlan-vpc'), 'bootstrap', '--dry-run',
                           '--config-file', path], capture_output=True, timeout=timeout)
    output = (proc.stdout + proc.stderr).decode('utf-8', 'replace')
    return Outcome(proc.returncode, output, time.monotonic() - started)


def run_manager(path, log_file, extra=(), alive_after=15.0):
    """ryu-manager with our app on free ports: its exit status, or ALIVE once its REST port
    answers (it started: the config was accepted) or after ``alive_after`` seconds."""
    rest = free_port()
    ryu = RyuManager(None, path, log_file, free_port(), extra=['--wsapi-port', str(rest),
                                                               *extra])
    started = time.monotonic()
    ryu.start()
    try:
        code = ALIVE
        while time.monotonic() - started < alive_after:
            if ryu.proc.poll() is not None:
                code = ryu.proc.returncode
                break
            with socket.socket() as sock:
                sock.settimeout(0.2)
                if sock.connect_ex(('127.0.0.1', rest)) == 0:
                    break
            time.sleep(0.05)
    finally:
        ryu.stop()
    return Outcome(code, ryu.log(), time.monotonic() - started)


def error_lines(output, path):
    """The output lines that name the file: there must be exactly one."""
    return [line for line in output.splitlines() if 'config file %r' % path in line]


# --- the cases --------------------------------------------------------------------------------
# name -> (file content, or None for a path the test makes; what the one line says, for
# bootstrap (None: it accepts the file) and for ryu-manager)
CASES = {
    'not_utf8': (GOOD + b'node_name = caf\xe9\n', ['line 5: byte 0xe9 is not UTF-8']),
    'binary': (bytes(range(256)) * 4, ['holds a NUL byte']),
    'utf16': (GOOD.decode().encode('utf-16'), ['is UTF-16 text']),
    'utf8_bom': (b'\xef\xbb\xbf' + GOOD, ['starts with a UTF-8 byte order mark']),
    'directory': (None, ['is a directory, not a file']),
    'missing': (None, ['no such file']),
    'no_section_header': (b'local_ip = 172.21.12.163\n',
                          ['line 1: an option before any [section] header']),
    'line_without_equals': (GOOD + b'remote_ips 172.21.12.9\n',
                            ["line 5: expected NAME = VALUE: 'remote_ips 172.21.12.9'"]),
    'dollar_in_path': (None, ['"$" in the path']),
    'dollar_in_value': (GOOD.replace(b'vpcs = 0x22:12', b'node_name = n-$local_ip'),
                        ["line 4: [vxlan_vpc] node_name = 'n-$local_ip': oslo.config would "
                         "replace $local_ip"]),
    'misspelled_remote_ips': (GOOD + b'remote_ip = 172.21.12.9\n',
                              ['line 5: [vxlan_vpc] remote_ip is not an option; did you mean '
                               'remote_ips?']),
    'misspelled_datapath_type': (GOOD + b'datapath_typ = netdev\n',
                                 ['[vxlan_vpc] datapath_typ is not an option; did you mean '
                                  'datapath_type?']),
    'misspelled_section': (GOOD.replace(b'[vxlan_vpc]', b'[vxlan-vpc]'),
                           ['line 1: unknown section [vxlan-vpc]', 'did you mean [vxlan_vpc]?']),
    'no_vxlan_vpc_section': (b'[DEFAULT]\nwsapi_port = 8081\n', ['no [vxlan_vpc] section']),
    'option_twice': (GOOD + b'vpcs = 0x23:13\n', ['line 5: [vxlan_vpc] vpcs is set again']),
    'local_ip_unspecified': (GOOD.replace(b'172.21.12.163', b'0.0.0.0'),
                             ["[vxlan_vpc] local_ip = '0.0.0.0'", 'not usable as a VTEP']),
    'local_ip_multicast': (GOOD.replace(b'172.21.12.163', b'224.0.0.5'),
                           ["[vxlan_vpc] local_ip = '224.0.0.5'", 'a multicast address']),
    'remote_ips_broadcast': (GOOD.replace(b'172.21.12.8', b'172.21.12.8,255.255.255.255'),
                             ["[vxlan_vpc] remote_ips = '255.255.255.255'", 'the broadcast']),
    'remote_ips_loopback': (GOOD.replace(b'172.21.12.8', b'127.0.0.1'),
                            ["[vxlan_vpc] remote_ips = '127.0.0.1'", 'a loopback address']),
    # Ryu's own options: bootstrap does not read them, ryu-manager refuses them.
    'wsapi_host_not_an_address': (b'[DEFAULT]\nwsapi_host = 999.1.1.1\n' + GOOD,
                                  None, ["[DEFAULT] wsapi_host = '999.1.1.1'",
                                         'not an IP address']),
    'wsapi_port_not_a_number': (b'[DEFAULT]\nwsapi_port = abc\n' + GOOD,
                                None, ["line 2: [DEFAULT] wsapi_port = 'abc'"]),
}


def expectations(case):
    spec = CASES[case]
    return (spec[1], spec[1]) if len(spec) == 2 else (spec[1], spec[2])


def make_file(tmp, case):
    content = CASES[case][0]
    if case == 'directory':
        return str(tmp)
    if case == 'missing':
        return str(tmp / 'missing.conf')
    if case == 'dollar_in_path':
        (tmp / 'a$b').mkdir()
        path = tmp / 'a$b' / 'node.conf'
        path.write_bytes(GOOD)
        return str(path)
    path = tmp / (case + '.conf')
    path.write_bytes(content)
    return str(path)


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    """{(case, 'bootstrap'|'ryu-manager'): (path, Outcome)}, every process run once."""
    require_binaries()
    jobs = {}
    for case in CASES:
        tmp = tmp_path_factory.mktemp(case)
        path = make_file(tmp, case)
        jobs[(case, 'bootstrap')] = (path, lambda p=path: run_bootstrap(p))
        jobs[(case, 'ryu-manager')] = (
            path, lambda p=path, log=str(tmp / 'ryu.log'): run_manager(p, log))
    with ThreadPoolExecutor(4) as pool:  # mostly interpreter start-up: 2 cores stay busy
        futures = {key: (path, pool.submit(run)) for key, (path, run) in jobs.items()}
        return {key: (path, future.result()) for key, (path, future) in futures.items()}


def check_refused(path, outcome, expected, prefix):
    assert 'Traceback' not in outcome.output, outcome.output
    assert outcome.code == 2, outcome.output
    assert outcome.seconds < 15, outcome  # "at once": start-up only, never a timeout
    lines = error_lines(outcome.output, path)
    assert len(lines) == 1, outcome.output
    assert prefix in lines[0], lines[0]
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize('case', list(CASES))
def test_bootstrap_refuses(results, case):
    path, outcome = results[(case, 'bootstrap')]
    expected = expectations(case)[0]
    if expected is None:  # a Ryu option: not bootstrap's business
        assert outcome.code == 0 and 'Traceback' not in outcome.output, outcome.output
        return
    check_refused(path, outcome, expected, 'ryu-vxlan-vpc bootstrap: config file %r' % path)
    assert outcome.output.splitlines()[-1] == 'nothing was changed'
    assert 'ovs-vsctl' not in outcome.output  # no plan printed


@pytest.mark.parametrize('case', list(CASES))
def test_ryu_manager_refuses(results, case):
    path, outcome = results[(case, 'ryu-manager')]
    # Our hook's own line, or the app's (bad values, found after Ryu parsed the files).
    prefix = 'config file %r' % path
    check_refused(path, outcome, expectations(case)[1], prefix)
    line = error_lines(outcome.output, path)[0]
    assert line.startswith(('ryu-manager: ' + prefix,
                            'bad configuration, not starting: ' + prefix)), line


def test_a_good_file_still_starts(tmp_path):
    """The control case: the checks refuse what they should, not everything."""
    require_binaries()
    path = tmp_path / 'good.conf'
    path.write_bytes(GOOD)
    assert run_bootstrap(str(path)).code == 0
    outcome = run_manager(str(path), str(tmp_path / 'ryu.log'))
    assert outcome.code == ALIVE and 'Traceback' not in outcome.output, outcome.output
    assert not error_lines(outcome.output, str(path)), outcome.output


def test_ryu_manager_with_other_apps_is_untouched(tmp_path):
    """The hook wraps Ryu's main only for our app: another app sees Ryu's own handling."""
    require_binaries()
    path = tmp_path / 'bom.conf'
    path.write_bytes(b'\xef\xbb\xbf' + GOOD)
    proc = subprocess.run([os.path.join(BIN, 'ryu-manager'), '--config-file', str(path),
                           'ryu.controller.ofp_handler'], capture_output=True, timeout=60)
    output = (proc.stdout + proc.stderr).decode('utf-8', 'replace')
    assert proc.returncode != 0 and 'ConfigFileParseError' in output, output
    assert 'ryu-manager: config file' not in output


def test_version():
    require_binaries()
    proc = subprocess.run([os.path.join(BIN, 'ryu-vxlan-vpc'), '--version'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == 'ryu-vxlan-vpc %s\n' % importlib.metadata.version('ryu_vxlan_vpc')
