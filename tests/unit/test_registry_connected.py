"""Follower.connected, which ports_agent exposes as registry_connected for the metrics:
None before the first read, True while reads and watches work, False after a failure.

(PortsAgent itself imports eventlet, which unit tests keep out of their process: it is
covered by tests/e2e/test_lab_metrics.py, with a real etcd killed and restarted.)"""
from test_registry_follow import DROP, FakeRegistry, Log, P, Ticks, node
from ryu_vxlan_vpc.registry.follow import Follower


def test_connected_follows_the_last_read_or_watch():
    seen = []
    holder = {}

    def note(f):
        seen.append(holder['follower'].connected)

    def go_down(f):
        note(f)
        f.unavailable = True
        return DROP

    def come_back(f):
        note(f)                  # asked while etcd refused: False
        f.unavailable = False

    fake = FakeRegistry([
        lambda f: (note(f), f.commit(puts=[node('c1', '10.0.0.1')]))[1],
        go_down,
        come_back,
        note,                    # read again and watching: True
    ])
    follower = holder['follower'] = Follower(fake, P, lambda fleet, rev: None, Log(),
                                             sleep=fake.sleep, clock=Ticks(1.0))
    assert follower.connected is None
    follower.run(lambda: fake.done)
    assert seen == [True, True, False, True]

