"""Keep ryu-manager's memory from ratcheting up: glibc malloc's arenas and trimming.

The big jobs (a sync's pipeline, the registry's parse, comparing two intents) run in
eventlet's native thread pool, so that the event loop keeps serving the switches. glibc
gives each thread that allocates its own malloc arena, and memory freed in one arena is not
reused by another: with 50k registry records and 100k flows every such job left tens of
MiB behind in its thread's arena, and each big sync or publish stacked its peak on top of
the last one's leftovers. Measured at 500 nodes x 100 ports (benchmarks/bench_l2pop_scale.py),
a single arena brought ryu-manager's peak RSS from 206 to 177 MiB.

So at start ``one_arena()`` asks for a single arena (what ``MALLOC_ARENA_MAX=1`` in the
environment does; the threads hold the GIL while allocating anyway), and ``trim()``, called
after a big job, hands freed pages back to the system (``malloc_trim``).

glibc only: elsewhere (musl, macOS) both do nothing, and say so through their result.
"""
import ctypes
import ctypes.util

M_ARENA_MAX = -8   # glibc's mallopt parameter (malloc.h)


def _libc():
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, 'mallopt') or not hasattr(libc, 'malloc_trim'):
        return None
    return libc


_LIBC = _libc()


def one_arena():
    """One malloc arena for every thread from now on (before the threads allocate).
    Returns whether glibc took it."""
    return bool(_LIBC is not None and _LIBC.mallopt(M_ARENA_MAX, 1))


def trim():
    """Give the pages malloc holds free back to the system. Returns whether any were."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))
