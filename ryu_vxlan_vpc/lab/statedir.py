"""The lab's state directory: made by the lab itself, root's alone, checked before each use.

`lab down` stops the processes, deletes the namespaces and removes the paths that the
directory's lab.json lists, as root. So a lab.json is believed only in a directory that the
lab made (it holds the lab's marker file), that is a real directory (not a symbolic link),
owned by root and closed to everyone else (mode 0700: nobody but root could have written
the record or the marker). Every lab command refuses any other directory.
"""
import os
import stat
import time

from .common import LabError

MARKER = '.ryu-vxlan-vpc-lab'
MODE = 0o700


def refusal(path, why):
    return LabError('refusing state dir %s: %s' % (path, why), 2)


def problem(path, owner=0):
    """Why the existing ``path`` is not a state dir the lab made, or None.
    ``owner``: the uid it must belong to (root; tests running unprivileged pass theirs)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return 'it does not exist'
    if stat.S_ISLNK(st.st_mode):
        return 'it is a symbolic link'
    if not stat.S_ISDIR(st.st_mode):
        return 'it is not a directory'
    if st.st_uid != owner:
        return 'it is owned by uid %d, not %s' % (st.st_uid, 'root' if owner == 0 else owner)
    if stat.S_IMODE(st.st_mode) != MODE:
        return 'its mode is %04o, not %04o' % (stat.S_IMODE(st.st_mode), MODE)
    try:
        marker = os.lstat(os.path.join(path, MARKER))
    except FileNotFoundError:
        return 'the lab did not make it (no %s in it)' % MARKER
    if not stat.S_ISREG(marker.st_mode) or marker.st_uid != owner:
        return '%s in it is not a file of %s' % (MARKER, 'root' if owner == 0 else owner)
    return None


def check(path, owner=0):
    """Raise the refusal (exit 2) when ``path`` exists and is not a state dir the lab made;
    returns whether it exists."""
    if not os.path.lexists(path):
        return False
    why = problem(path, owner)
    if why:
        raise refusal(path, why)
    return True


def create(path):
    """Make ``path`` (its parents as needed): owned by us (root), mode 0700, with the marker.
    A path that appeared meanwhile is refused, never adopted."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        os.mkdir(path, MODE)
    except FileExistsError:
        raise refusal(path, 'it appeared while the lab was making it') from None
    os.chmod(path, MODE)     # mkdir's mode is cut by the umask
    fd = os.open(os.path.join(path, MARKER), os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                 os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write('State directory of a ryu-vxlan-vpc lab, made %s by pid %d. `ryu-vxlan-vpc '
                'lab down --state-dir %s` removes the lab and this directory.\n'
                % (time.strftime('%Y-%m-%d %H:%M:%S'), os.getpid(), path))


def leftovers(path):
    """What ``path`` holds besides the marker (what a lab up there would clash with)."""
    return sorted(set(os.listdir(path)) - {MARKER})


def inside(path, state_dir):
    """Whether a recorded ``path`` lies within ``state_dir``: as written (no '..' out of it)
    and where its directory really is (no symbolic link out of it)."""
    if not os.path.isabs(path):
        return False
    norm, top = os.path.normpath(path), os.path.normpath(state_dir)
    real_parent = os.path.realpath(os.path.dirname(norm))
    real_top = os.path.realpath(top)
    return norm.startswith(top + os.sep) and (real_parent == real_top or
                                              real_parent.startswith(real_top + os.sep))


def remove(path):
    """Remove the state dir when only the marker is left; returns what kept it, if anything."""
    left = leftovers(path)
    if left:
        return left
    os.unlink(os.path.join(path, MARKER))
    os.rmdir(path)
    return []
