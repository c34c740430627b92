"""bigjobs.turn: big jobs take turns, but a turn is waited for only so long. Run in a fresh
interpreter: importing Ryu's hub patches threading for the rest of a test process."""
import json
import subprocess
import sys

SCRIPT = r'''
import json, time
from ryu.lib import hub
from ryu_vxlan_vpc import bigjobs
bigjobs.WAIT = 0.3
events = []
def job(name, hold):
    with bigjobs.turn():
        events.append((name, 'in', round(time.monotonic() - t0, 2)))
        hub.sleep(hold)
        events.append((name, 'out', round(time.monotonic() - t0, 2)))
t0 = time.monotonic()
a = hub.spawn(job, 'a', 0.1)
hub.sleep(0.01)
b = hub.spawn(job, 'b', 0.1)      # waits for a's turn
hub.joinall([a, b])
t0 = time.monotonic()
c = hub.spawn(job, 'c', 2.0)      # a job stuck for longer than WAIT
hub.sleep(0.01)
d = hub.spawn(job, 'd', 0.0)      # goes after WAIT, without c's turn
hub.joinall([c, d])
print(json.dumps(events))
'''


def test_jobs_take_turns_but_wait_for_one_only_so_long():
    out = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout.strip().splitlines()[-1])
    order = [[name, what] for name, what, _ in events]
    assert order[:4] == [['a', 'in'], ['a', 'out'], ['b', 'in'], ['b', 'out']]
    times = {(name, what): t for name, what, t in events}
    assert order[4:] == [['c', 'in'], ['d', 'in'], ['d', 'out'], ['c', 'out']]
    assert 0.25 <= times['d', 'in'] - times['c', 'in'] < 1.5
