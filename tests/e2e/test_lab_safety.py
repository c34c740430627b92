"""The lab acts, as root, only on a state directory it made itself.

`lab down` deletes whatever the state directory's lab.json lists (paths, namespaces,
processes). A directory the lab did not make, or that someone other than root could have
written to, is refused by every lab command, and nothing it lists is touched.
"""
import json
import os
import stat
import subprocess
import sys
import uuid

import pytest

from labrun import lab_prefix, namespaces
from realenv import require, require_real
from ryu_vxlan_vpc.lab import statedir
from ryu_vxlan_vpc.lab.lab import Lab

CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')


def lab(*args):
    return subprocess.run([CLI, 'lab'] + list(args), capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def victims(tmp_path):
    """A file outside any state dir and a namespace of nobody's lab: neither may go."""
    require(None if os.geteuid() == 0 else 'needs root (lab commands, chown)')
    path = tmp_path / 'precious.txt'
    path.write_text('keep me\n')
    netns = 't4s-%s' % uuid.uuid4().hex[:6]
    subprocess.run(['ip', 'netns', 'add', netns], check=True)
    try:
        yield str(path), netns
    finally:
        subprocess.run(['ip', 'netns', 'del', netns], check=False)


def record(paths, netns):
    return {'version': 1, 'status': 'up', 'prefix': '', 'created': 'now', 'created_dir': True,
            'standalone_check': True, 'second_vpc': False, 'namespaces': [netns],
            'paths': paths, 'nodes': [], 'registry': None, 'registry_mode': False}


def foreign(tmp_path, kind, victims):
    """A state dir with a lab.json listing ``victims``, not acceptable for reason ``kind``."""
    path, netns = victims
    real = tmp_path / 'state'
    real.mkdir(mode=0o700)
    os.chmod(real, 0o700)
    if kind != 'not made by the lab':
        (real / statedir.MARKER).write_text('forged\n')
    (real / 'lab.json').write_text(json.dumps(record([path], netns)))
    if kind == 'group and world can enter':
        os.chmod(real, 0o755)
    elif kind == 'not root\'s':
        os.chown(real, 65534, 65534)
    elif kind == 'a symbolic link':
        link = tmp_path / 'link'
        link.symlink_to(real)
        return str(link), 'it is a symbolic link'
    why = {'not made by the lab': 'the lab did not make it (no %s in it)' % statedir.MARKER,
           'group and world can enter': 'its mode is 0755, not 0700',
           'not root\'s': 'it is owned by uid 65534, not root'}[kind]
    return str(real), why


@pytest.mark.parametrize('kind', ['not made by the lab', 'group and world can enter',
                                  'not root\'s', 'a symbolic link'])
def test_every_lab_command_refuses_a_foreign_state_dir_and_touches_nothing(
        tmp_path, victims, kind):
    state, why = foreign(tmp_path, kind, victims)
    path, netns = victims
    listing = open(os.path.join(state, 'lab.json')).read()
    prefix = lab_prefix()
    for args in (['up', '--standalone-check', '--prefix', prefix], ['down'], ['status'],
                 ['exec', 'compute1', 'true'], ['add-vm', 'compute1', '--vpc', '0x22']):
        proc = lab(*args[:1], '--state-dir', state, *args[1:])
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stdout == ''
        assert proc.stderr.splitlines() == [
            'lab %s: refusing state dir %s: %s' % (args[0], state, why)], args
    assert os.path.exists(path) and netns in namespaces()
    assert not [ns for ns in namespaces() if ns.startswith(prefix)]   # nothing was built
    assert open(os.path.join(state, 'lab.json')).read() == listing


def test_a_state_dir_that_exists_empty_is_refused_too(tmp_path, victims):
    state = tmp_path / 'premade'
    state.mkdir(mode=0o700)
    proc = lab('up', '--standalone-check', '--state-dir', str(state), '--prefix', lab_prefix())
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ['lab up: refusing state dir %s: the lab did not make it '
                                        '(no %s in it)' % (state, statedir.MARKER)]
    assert os.listdir(state) == []


def test_down_removes_only_what_lies_in_its_own_state_dir(tmp_path, victims):
    path, _ = victims
    state = str(tmp_path / 'state')
    statedir.create(state)
    inside = os.path.join(state, 'compute1')
    os.mkdir(inside)
    lab_ = Lab(state, out=[].append)
    lab_.save(record([inside, path, state + '/../precious.txt'], 'absent-%s' % uuid.uuid4().hex))
    said = []
    assert Lab(state, out=said.append).down() == 0
    assert os.path.exists(path) and not os.path.exists(state)
    assert 'kept %s: outside the state dir' % path in said, said


def test_the_lab_makes_its_state_dir_root_only_with_its_marker_and_removes_it(tmp_path):
    require_real()
    state = str(tmp_path / 'n' / 's')   # short: OVS socket paths have a limit
    up = lab('up', '--standalone-check', '--state-dir', state, '--prefix', lab_prefix())
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        st = os.lstat(state)
        assert (st.st_uid, stat.S_IMODE(st.st_mode), stat.S_ISDIR(st.st_mode)) == (
            0, 0o700, True)
        assert os.path.isfile(os.path.join(state, statedir.MARKER))
        again = lab('up', '--standalone-check', '--state-dir', state, '--prefix', lab_prefix())
        assert again.returncode != 0 and 'already up' in again.stderr
    finally:
        down = lab('down', '--state-dir', state)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not os.path.exists(state) and os.path.isdir(os.path.dirname(state))
    assert lab('down', '--state-dir', state).returncode == 0   # nothing left: fine twice
