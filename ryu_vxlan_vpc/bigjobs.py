"""One big job at a time: a sync and a registry publish, each of which builds tens of MiB of
short-lived data at 100k flows (the pipeline's rows, the read-back, the plan; a new fleet, a
new intent and its comparison with the last). In native threads they can run side by side,
and their peaks then add up: ryu-manager's peak memory is the sum, not the larger. The
GIL lets only one of them compute at a time anyway, so taking turns costs latency (a
publish waits for a sync in progress, about a second at 100k flows), not throughput.

A turn is waited for at most ``WAIT`` seconds, then taken anyway: a sync waiting on a switch
that stopped answering (its flow dump may take up to a two-minute timeout) must not hold
the registry, the OVSDB side or another switch up. A green semaphore: waiting yields to
the event loop.
"""
import contextlib

from ryu.lib import hub

LOCK = hub.Semaphore(1)
WAIT = 5.0


@contextlib.contextmanager
def turn():
    got = LOCK.acquire(timeout=WAIT)
    try:
        yield
    finally:
        if got:
            LOCK.release()


def run(func, *args):
    """``func(*args)`` in eventlet's native thread pool, in its turn."""
    from eventlet import tpool
    with turn():
        return tpool.execute(func, *args)
