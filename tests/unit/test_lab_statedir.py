"""The lab's state directory checks, on plain directories (any user: owner is ours)."""
import os

import pytest

from ryu_vxlan_vpc.lab import statedir
from ryu_vxlan_vpc.lab.common import LabError

ME = os.geteuid()


def made(tmp_path):
    path = str(tmp_path / 'state')
    statedir.create(path)
    return path


def test_the_lab_makes_its_dir_closed_with_its_marker_and_accepts_only_that(tmp_path):
    old = os.umask(0o022)
    try:
        path = str(tmp_path / 'a' / 'b' / 'state')
        statedir.create(path)
    finally:
        os.umask(old)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o700)
    assert os.listdir(path) == [statedir.MARKER]
    assert statedir.problem(path, owner=ME) is None
    assert statedir.check(path, owner=ME) is True
    assert statedir.check(str(tmp_path / 'nothing'), owner=ME) is False


def test_a_dir_that_appeared_is_never_adopted(tmp_path):
    path = made(tmp_path)
    with pytest.raises(LabError) as err:
        statedir.create(path)
    assert err.value.exit_code == 2 and 'appeared while the lab was making it' in str(err.value)


@pytest.mark.parametrize('spoil, why', [
    (lambda p: os.unlink(os.path.join(p, statedir.MARKER)),
     'the lab did not make it (no %s in it)' % statedir.MARKER),
    (lambda p: os.chmod(p, 0o750), 'its mode is 0750, not 0700'),
    (lambda p: os.chmod(p, 0o1700), 'its mode is 1700, not 0700'),
    (lambda p: (os.unlink(os.path.join(p, statedir.MARKER)),
                os.mkdir(os.path.join(p, statedir.MARKER))),
     '%s in it is not a file of' % statedir.MARKER),
])
def test_a_spoiled_dir_is_refused_naming_why(tmp_path, spoil, why):
    path = made(tmp_path)
    spoil(path)
    assert statedir.problem(path, owner=ME).startswith(why)
    with pytest.raises(LabError) as err:
        statedir.check(path, owner=ME)
    assert err.value.exit_code == 2
    assert str(err.value).startswith('refusing state dir %s: %s' % (path, why))


def test_links_files_and_other_owners_are_refused(tmp_path):
    path = made(tmp_path)
    link = str(tmp_path / 'link')
    os.symlink(path, link)
    assert statedir.problem(link, owner=ME) == 'it is a symbolic link'
    plain = tmp_path / 'file'
    plain.write_text('')
    assert statedir.problem(str(plain), owner=ME) == 'it is not a directory'
    other = ME + 1
    assert statedir.problem(path, owner=other) == 'it is owned by uid %d, not %d' % (ME, other)


def test_inside_keeps_recorded_paths_within_the_state_dir(tmp_path):
    path = made(tmp_path)
    os.mkdir(os.path.join(path, 'compute1'))
    os.symlink(str(tmp_path), os.path.join(path, 'escape'))
    assert statedir.inside(os.path.join(path, 'compute1'), path)
    assert statedir.inside(os.path.join(path, 'compute1', 'ovs'), path)
    assert not statedir.inside(path, path)
    assert not statedir.inside(os.path.join(path, '..', 'x'), path)
    assert not statedir.inside(str(tmp_path / 'state-other'), path)
    assert not statedir.inside('compute1', path)
    assert not statedir.inside(os.path.join(path, 'escape', 'x'), path)   # via a link
    assert statedir.inside(os.path.join(path, 'escape'), path)   # the link itself: unlinked


def test_remove_only_when_nothing_but_the_marker_is_left(tmp_path):
    path = made(tmp_path)
    (tmp_path / 'state' / 'extra').write_text('')
    assert statedir.remove(path) == ['extra'] and statedir.problem(path, owner=ME) is None
    os.unlink(os.path.join(path, 'extra'))
    assert statedir.remove(path) == [] and not os.path.exists(path)
