"""Random rows of the bulk shapes (pipeline.populated), edge values included, for the
row encoder's and the row reader's tests."""
import random

from ryu_vxlan_vpc.pipeline.populated import UcastPopulated


def random_mac(rnd):
    return ':'.join('%02x' % rnd.randrange(256) for _ in range(6))


def random_rows(shape, n, seed):
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        vlan = rnd.choice([0, 1, 4095, rnd.randrange(4096)])
        mac = random_mac(rnd)
        if isinstance(shape, UcastPopulated):
            rows.append((vlan, mac, rnd.choice([1, 0xffffff, rnd.randrange(1 << 24)]),
                         rnd.choice([1, 0xfffffeff, rnd.randrange(1, 1 << 16)])))
        else:
            ip = '.'.join(str(rnd.choice([0, 255, rnd.randrange(256)])) for _ in range(4))
            rows.append((vlan, ip, mac))
    return rows
