"""What the end-to-end tests share: a built lab and ways to look into it."""
import contextlib
import json
import os
import uuid

from ryu_vxlan_vpc import shell
from ryu_vxlan_vpc.config import tunnel_port_name
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.lab import report

ETC = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', 'etc',
                                    'ryu_vxlan_vpc'))
# The learned flow as ovs-ofctl prints it, counters stripped (issue 4's wording).
LEARNED = ('cookie=0xa9eb8f9011f7e038, table=20, hard_timeout=300, priority=1,'
           'vlan_tci=%#06x/0x0fff,dl_dst=%s actions=load:0->NXM_OF_VLAN_TCI[],'
           'load:%#x->NXM_NX_TUN_ID[],output:%d')


@contextlib.contextmanager
def running_lab(tmp_path_factory, nodes):
    """A registry lab of ``nodes`` nodes whose first pings worked; taken down afterwards,
    pass or fail, leaving no namespace behind."""
    from realenv import require_real
    from ryu_vxlan_vpc.lab.lab import Lab
    require_real()
    lab = Lab(str(tmp_path_factory.mktemp('lab') / 'state'), out=lambda line: None)
    prefix = lab_prefix()
    try:
        pings = lab.up(nodes=nodes, prefix=prefix)
        assert all(p.as_expected for p in pings), [p.output for p in pings]
        yield lab
    finally:
        lab.down(quiet=True)
    assert not [n for n in namespaces() if n.startswith(prefix)]


def lab_prefix():
    """A namespace prefix no other lab (or test run) uses."""
    return 't4-%s-' % uuid.uuid4().hex[:4]


def namespaces():
    return report.namespaces()


def vm_mac(netns):
    out = shell.run(['ip', '-n', netns, '-j', 'link', 'show', 'eth0']).stdout
    return json.loads(out)[0]['address']


class Built:
    """A lab that is up, with what `lab up` printed and returned."""

    def __init__(self, lab, pings, output):
        self.lab, self.pings, self.output = lab, pings, output
        self.rec = lab.load()
        self.nodes = {n['name']: n for n in self.rec['nodes']}

    def ovs(self, name):
        return self.lab.ovs(self.nodes[name])

    def vm(self, name, vni):
        return next(vm for vm in self.nodes[name]['vms'] if vm['vni'] == vni)

    def mac(self, name, vni):
        return vm_mac(self.vm(name, vni)['namespace'])

    def table20(self, name):
        return text.parse_dump(self.ovs(name).ofctl('dump-flows', 'br-tun', 'table=20'))

    def learned(self, node, vni, vlan, mac, remote_vtep):
        """The table-20 flow ``node`` learns for ``mac`` behind ``remote_vtep``."""
        port = self.ovs(node).ofport(tunnel_port_name(remote_vtep))
        return LEARNED % (vlan, mac, vni, port)
