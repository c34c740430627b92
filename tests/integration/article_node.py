"""compute1's br-tun built by hand exactly as the article does, for tests of the app."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPUTE1_CONF = ROOT / 'etc' / 'ryu_vxlan_vpc' / 'compute1.conf'
ARTICLE_COMPUTE1 = ROOT / 'tests' / 'unit' / 'data' / 'article_compute1_dump_flows.txt'
OFP_PORT = 6633


def build_article_br_tun(ovs):
    """compute1's bridges as the article makes them, controller set with the bridge."""
    build_bridges(ovs)
    add_vxlan(ovs, 'vxlan-01', '172.21.12.8', ofport=8)


def build_bridges(ovs):
    """br-tun (secure, our controller) and br-int (standalone) joined by patch ports
    (patch-int is ofport 1), with no tunnel yet."""
    ovs.vsctl('add-br', 'br-tun', '--', 'set', 'bridge', 'br-tun', 'datapath_type=netdev',
              'fail-mode=secure', 'protocols=OpenFlow10,OpenFlow13',
              '--', 'set-controller', 'br-tun', 'tcp:127.0.0.1:%d' % OFP_PORT)
    # Fast reconnects keep the test short; out-of-band: the controller is on loopback.
    ovs.vsctl('set', 'controller', 'br-tun', 'max_backoff=1000', 'connection_mode=out-of-band')
    ovs.vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev',
              'fail-mode=standalone')
    ovs.vsctl('add-port', 'br-tun', 'patch-int', '--', 'set', 'interface', 'patch-int',
              'type=patch', 'options:peer=patch-tun', 'ofport_request=1')
    ovs.vsctl('add-port', 'br-int', 'patch-tun', '--', 'set', 'interface', 'patch-tun',
              'type=patch', 'options:peer=patch-int')


def add_vxlan(ovs, name, remote_ip, ofport):
    ovs.vsctl('add-port', 'br-tun', name, '--', 'set', 'interface', name, 'type=vxlan',
              'options:remote_ip=%s' % remote_ip, 'options:df_default=true',
              'options:dst_port=4789', 'options:in_key=flow', 'options:out_key=flow',
              'options:local_ip=172.21.12.163', 'ofport_request=%d' % ofport)
