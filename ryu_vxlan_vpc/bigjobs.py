"""One big job at a time: a sync and a registry publish, each of which builds tens of MiB of
short-lived data at 100k flows (the pipeline's rows, the read-back, the plan; a new fleet, a
new intent and its comparison with the last). In native threads they can run side by side,
and their peaks then add up: ryu-manager's peak memory is the sum, not the larger. The
GIL lets only one of them compute at a time anyway, so taking turns costs latency (a
publish waits for a sync in progress, at most a second or two at 100k flows), not
throughput. A green semaphore: waiting yields to the event loop."""
from ryu.lib import hub

LOCK = hub.Semaphore(1)


def run(func, *args):
    """``func(*args)`` in eventlet's native thread pool, as the only big job running."""
    from eventlet import tpool
    with LOCK:
        return tpool.execute(func, *args)
