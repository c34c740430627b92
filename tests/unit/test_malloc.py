"""malloc.py finds glibc here (the machines this project runs on) and glibc takes both
calls; the memory they save is measured by benchmarks/bench_l2pop_scale.py, not here."""
import subprocess
import sys

from ryu_vxlan_vpc import malloc


def test_glibc_takes_one_arena_and_trims():
    # In a fresh interpreter: the arena limit is for a process whose threads have not
    # allocated yet, as ryu-manager's app sets it at start.
    code = 'from ryu_vxlan_vpc import malloc; print(malloc.one_arena())'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == 'True', out.stderr
    assert isinstance(malloc.trim(), bool)
    assert malloc._LIBC is not None
