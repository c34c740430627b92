"""Pings between the lab's VM namespaces, with their outcome parsed from ping's summary."""
import re
from dataclasses import dataclass, field
from typing import List

from .. import shell


@dataclass
class PingResult:
    src: str
    dst: str
    transmitted: int
    received: int
    output: str
    argv: List[str] = field(default_factory=list)
    label: str = ''
    expect_reply: bool = True

    @property
    def loss(self):
        return 100.0 if not self.transmitted else 100.0 * (1 - self.received / self.transmitted)

    @property
    def as_expected(self):
        return self.received > 0 if self.expect_reply else self.received == 0


def ping(src_ns, dst_ip, count=5, interval=0.2, wait=2, label='', expect_reply=True):
    argv = ['ip', 'netns', 'exec', src_ns, 'ping', '-n', '-c', str(count), '-i', str(interval),
            '-W', str(wait), dst_ip]
    out = shell.run(argv, check=False, timeout=count * (interval + wait) + 10).stdout
    m = re.search(r'(\d+) packets transmitted, (\d+) received', out)
    sent, got = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    return PingResult(src_ns, dst_ip, sent, got, out.rstrip(), argv, label, expect_reply)
