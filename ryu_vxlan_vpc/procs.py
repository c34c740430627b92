"""Daemons we start and stop: identified by pid *and* start time, so a reused pid is never hit."""
import os
import signal
import subprocess
import time


def start_time(pid):
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(')') + 2:].split()
    return None if fields[0] == 'Z' else int(fields[19])


def alive(pid, started=None):
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def poll(predicate, timeout, interval=0.2):
    """Call ``predicate`` until it returns something truthy or ``timeout`` seconds pass;
    returns its last value (falsy on timeout), so callers raise their own error."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def reap(pid):
    """Collect ``pid`` if it is our child (tests run the lab in-process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spawn(argv, log_path):
    """Start ``argv`` detached from us (own session), output appended to ``log_path``."""
    with open(log_path, 'ab') as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True)
    # Popen keeps no handle we need: the record holds pid + start time.
    proc.returncode = 0  # silence "still running" warnings; we reap by pid
    return proc.pid, start_time(proc.pid)


def stop(pid, started=None, timeout=5.0):
    """SIGTERM, then SIGKILL after ``timeout``. True if it was running."""
    return stop_all([(pid, started)], timeout) == 1


def stop_all(processes, timeout=5.0):
    """Stop [(pid, started or None)] together; returns how many were running."""
    running = [(p, t) for p, t in processes if alive(p, t)]
    for pid, _ in processes:
        reap(pid)
    for pid, _ in running:
        _kill(pid, signal.SIGTERM)
    for sig_deadline in (timeout, 5.0):
        deadline = time.monotonic() + sig_deadline
        while time.monotonic() < deadline:
            for pid, _ in running:
                reap(pid)
            if not any(alive(p, t) for p, t in running):
                return len(running)
            time.sleep(0.05)
        for pid, t in running:
            if alive(pid, t):
                _kill(pid, signal.SIGKILL)
    return len(running)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def listening(pid, port):
    """Whether ``pid``'s network namespace has a TCP socket listening on ``port``."""
    for name in ('tcp', 'tcp6'):
        try:
            with open('/proc/%d/net/%s' % (pid, name)) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == '0A' and int(fields[1].rsplit(':', 1)[1], 16) == port:
                        return True
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return False


def tail(path, lines=20):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return '(no log at %s)' % path
