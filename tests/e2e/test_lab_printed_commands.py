"""Every command `lab up` prints for the user works as printed, `ovs-appctl` included.

A `--standalone-check` lab (no controllers: the quickest whole lab) built by the CLI as a
user runs it, from the checkout (so it prints `.venv/bin/ryu-vxlan-vpc ...`), with a
private state directory and namespace prefix; removed afterwards, pass or fail.
"""
import os
import shlex
import subprocess
import sys

import pytest

from labrun import lab_prefix
from realenv import require_real

CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')
ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))
VTEPS = {'compute1': '172.21.12.163', 'compute2': '172.21.12.8'}


def run(argv):
    """As the user would, from the checkout."""
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    require_real()
    state = str(tmp_path_factory.mktemp('lab') / 'state')
    try:
        up = run([CLI, 'lab', 'up', '--standalone-check', '--state-dir', state,
                  '--prefix', lab_prefix()])
        assert up.returncode == 0, up.stdout + up.stderr
        yield state, up.stdout.splitlines()
    finally:
        down = run([CLI, 'lab', 'down', '--state-dir', state])
        assert down.returncode == 0, down.stdout + down.stderr


def printed_commands(lines):
    """(command line, the first line lab up showed as its output or None) for each `$ ...`
    line and each command under "Look around:"."""
    commands, around = [], False
    for i, line in enumerate(lines):
        if line.startswith('$ '):
            shown = lines[i + 1] if i + 1 < len(lines) else None
            commands.append((line[2:], shown))
        elif line == 'Look around:':
            around = True
        elif around and line.startswith('  '):
            commands.append((line.strip(), None))
        else:
            around = False
    return commands


def test_every_command_lab_up_prints_works_as_printed(lab):
    state, lines = lab
    commands = printed_commands(lines)
    text = [c for c, _ in commands]
    # What this lab prints: the pings, compute2's fdb (ovs-appctl), the look-around list.
    assert any('ovs-appctl fdb/show br-tun' in c for c in text), lines
    assert sum(' lab exec --state-dir %s ' % state in c for c in text) >= 3, text
    for command, shown in commands:
        proc = run(shlex.split(command, comments=True))
        assert proc.returncode == 0, '%s\n%s%s' % (command, proc.stdout, proc.stderr)
        assert proc.stdout.strip(), command
        if shown is not None and 'ping' not in command:   # ping times vary
            assert proc.stdout.splitlines()[0] == shown, (command, proc.stdout)


@pytest.mark.parametrize('node', sorted(VTEPS))
def test_lab_exec_ovs_appctl_reaches_the_nodes_own_vswitchd(lab, node):
    state, _ = lab
    dpif = run([CLI, 'lab', 'exec', '--state-dir', state, node, 'ovs-appctl', 'dpif/show'])
    assert dpif.returncode == 0, dpif.stderr
    assert dpif.stdout.startswith('netdev@ovs-netdev:'), dpif.stdout
    assert {'  br-tun:', '  br-int:', '  br-phy:'} <= set(dpif.stdout.splitlines())
    bridges = run([CLI, 'lab', 'exec', '--state-dir', state, node, 'ovs-appctl',
                   'ofproto/list'])
    assert sorted(bridges.stdout.split()) == ['br-int', 'br-phy', 'br-tun'], bridges.stderr
    # This node's vswitchd, not another's: its route table holds this node's VTEP.
    routes = run([CLI, 'lab', 'exec', '--state-dir', state, node, 'ovs-appctl',
                  'ovs/route/show'])
    assert VTEPS[node] + '/32 dev br-phy' in routes.stdout, routes.stdout
    other = [ip for name, ip in VTEPS.items() if name != node][0]
    assert other + '/32 dev br-phy' not in routes.stdout
    # ovsdb-server answers by its default name too.
    dbs = run([CLI, 'lab', 'exec', '--state-dir', state, node, 'ovs-appctl', '-t',
               'ovsdb-server', 'ovsdb-server/list-dbs'])
    assert 'Open_vSwitch' in dbs.stdout.split(), dbs.stderr
