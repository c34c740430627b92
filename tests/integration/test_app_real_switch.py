"""Real ryu-manager + real ovs-vswitchd: the app installs the article's pipeline exactly.

br-tun is built by hand as in the article (plain ovs-vsctl), with ofport_request giving the
article's port numbers (patch-int 1, compute1's vxlan-01 8), so the expected listing is
the article's own ``ovs-ofctl dump-flows`` output.
"""
import signal

import pytest

from article_node import (ARTICLE_COMPUTE1, COMPUTE1_CONF, OFP_PORT, add_vxlan,
                          build_article_br_tun)
from realenv import RyuManager, wait_for
from ryu_vxlan_vpc.config import Vpc, tunnel_port_name
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.pipeline import br_tun


def dump(ovs, protocol=None):
    return text.parse_dump(ovs.ofctl('dump-flows', 'br-tun', protocol=protocol))


def expected(tunnel_ofports, dialect='ofctl', vpcs=(Vpc(0x22, 12),)):
    state = br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=tunnel_ofports, vpcs=vpcs)
    return sorted(text.render(flow, dialect) for flow in br_tun.build(state))


def wait_flows(ovs, want, timeout=30):
    return wait_for(lambda: sorted(dump(ovs)) == want, timeout,
                    'br-tun to hold %d expected flows' % len(want))


def test_installs_the_article_pipeline(node, controller):
    article = sorted(text.parse_dump(ARTICLE_COMPUTE1.read_text()))
    assert len(article) == 13
    try:
        wait_flows(node, article)
    finally:
        print(controller.log())
    # Plain `ovs-ofctl dump-flows` (the article's command) prints the article's 13 lines.
    assert sorted(dump(node)) == article
    # And OpenFlow 1.3's view of the same entries matches our of13 rendering.
    assert sorted(dump(node, 'OpenFlow13')) == expected((8,), 'of13')
    log = controller.log()
    assert ('pipeline in sync, 13 flows installed on br-tun (13 added, 0 removed, 0 unchanged; '
            'in one atomic bundle)') in log
    assert 'installed cookie=0x79, table=10, priority=1 actions=learn(' in log


def test_tunnel_ports_added_and_removed_later(node, controller):
    wait_flows(node, expected((8,)))
    name = tunnel_port_name('172.21.12.9')
    add_vxlan(node, name, '172.21.12.9', ofport=9)
    wait_flows(node, expected((8, 9)))
    flows = dump(node)
    assert 'cookie=0x79, table=0, priority=1,in_port=9 actions=resubmit(,4)' in flows
    assert ('cookie=0x79, table=22, dl_vlan=12 actions=strip_vlan,set_tunnel:0x22,'
            'output:8,output:9') in flows
    node.vsctl('del-port', 'br-tun', name)
    wait_flows(node, expected((8,)))


def test_restart_resyncs_without_duplicates_and_spares_foreign_flows(node, controller,
                                                                        tmp_path):
    wait_flows(node, expected((8,)))
    foreign = ['cookie=0x1234, table=30, priority=5,in_port=1 actions=drop',
               'cookie=0x1234, table=31, priority=5,ip,nw_src=10.0.0.0/8 actions=drop']
    # Stale flows of our cookie, one matching fields our model does not name: both go.
    stale = ['cookie=0x79, table=22, priority=7,dl_vlan=99 actions=output:8',
             'cookie=0x79, table=30, priority=3,ip,nw_src=10.0.0.0/8 actions=drop']
    controller.stop()
    for flow in foreign + stale:
        node.ofctl('add-flow', 'br-tun', flow)
    again = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'ryu2.log'), OFP_PORT)
    again.start()
    try:
        want = sorted(expected((8,)) + foreign)
        wait_flows(node, want)
        wait_for(lambda: 'pipeline in sync' in again.log(), 30, 'the resync log line')
        log = again.log()
        assert '(0 added, 2 removed, 13 unchanged; in one atomic bundle)' in log, log
        assert 'removed cookie=0x79, table=22, priority=7,dl_vlan=99 actions=output:8' in log
        assert ('removed cookie=0x79, table=30, priority=3,ip,nw_src=10.0.0.0/8 '
                'actions=drop') in log            # as ovs-ofctl prints it
        assert 'sync failed' not in log
    finally:
        again.stop()


@pytest.mark.parametrize('option,value', [
    ('vpcs', '0x22:5000'),
    ('vpcs', '0:12'),
    ('vpcs', '0x22:12,0x23:12'),
    ('vpcs', '0x22:12,0x22:13'),
    ('local_ip', '172.21.12'),
    ('remote_ips', 'not-an-ip'),
    ('vxlan_udp_port', 'abc'),
])
def test_bad_config_stops_before_any_flow(node, tmp_path, option, value):
    build_article_br_tun(node)
    settings = {'local_ip': '172.21.12.163', 'remote_ips': '172.21.12.8', 'vpcs': '0x22:12'}
    settings[option] = value
    conf = tmp_path / 'bad.conf'
    conf.write_text('[vxlan_vpc]\n' + ''.join('%s = %s\n' % kv for kv in settings.items()))
    ryu = RyuManager(node.netns, str(conf), str(tmp_path / 'bad.log'), OFP_PORT)
    ryu.start()
    try:
        assert ryu.proc.wait(30) == 2
    finally:
        ryu.stop()
    log = ryu.log()
    assert 'bad configuration' in log and option in log, log
    assert any(part in log for part in value.split(',')), log
    assert dump(node) == []


def test_rest_port_equal_to_openflow_port_stops_before_any_flow(node, tmp_path):
    build_article_br_tun(node)
    ryu = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'clash.log'), OFP_PORT,
                     extra=['--wsapi-port', str(OFP_PORT)])
    ryu.start()
    try:
        assert ryu.proc.wait(30) == 2
    finally:
        ryu.stop()
    assert "[DEFAULT] wsapi_port = %d: the OpenFlow listener" % OFP_PORT in ryu.log()
    assert dump(node) == []


def test_a_rejected_change_leaves_the_switch_untouched_and_is_retried(node, tmp_path):
    """OVS refuses a flow when its table is full: the whole sync is refused, then retried."""
    build_article_br_tun(node)
    node.vsctl('--', '--id=@ft', 'create', 'Flow_Table', 'flow_limit=1',
               'overflow_policy=refuse', '--', 'set', 'Bridge', 'br-tun', 'flow_tables:0=@ft')
    ryu = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'full.log'), OFP_PORT)
    ryu.start()
    try:
        wait_for(lambda: 'retrying in' in ryu.log(), 30, 'a refused sync')
        assert dump(node) == [], 'an atomic sync must leave nothing behind'
        assert 'nothing changed' in ryu.log(), ryu.log()
        node.vsctl('clear', 'Bridge', 'br-tun', 'flow_tables')
        wait_flows(node, expected((8,)))  # the retry (1 s, 2 s, ...) gets through
        assert 'pipeline in sync' in ryu.log()
    finally:
        ryu.stop()


def test_sighup_applies_new_vpcs_and_remote_ips_without_restart(node, tmp_path):
    """File mode: SIGHUP re-reads vpcs and remote_ips; flows and tunnel ports follow."""
    build_article_br_tun(node)
    conf = tmp_path / 'node.conf'
    base = ('[vxlan_vpc]\nlocal_ip = 172.21.12.163\ndatapath_type = netdev\n'
            'ovsdb_connection = %s\n' % node.db)
    conf.write_text(base + 'vpcs = 0x22:12\n')   # the article's vxlan-01 is not ours
    ryu = RyuManager(node.netns, str(conf), str(tmp_path / 'ryu.log'), OFP_PORT).start()
    try:
        wait_flows(node, expected((8,)))
        conf.write_text(base + 'remote_ips = 172.21.12.9\nvpcs = 0x22:12, 0x23:13\n')
        ryu.proc.send_signal(signal.SIGHUP)
        new_port = tunnel_port_name('172.21.12.9')
        wait_for(lambda: new_port in node.vsctl('list-ports', 'br-tun').split(), 10,
                 'the tunnel to 172.21.12.9')
        assert node.vsctl('get', 'port', new_port, 'external_ids:ryu-vxlan-vpc-remote').strip() \
            == '"172.21.12.9"'
        tunnels = (8, node.ofport(new_port))
        wait_flows(node, expected(tunnels, vpcs=(Vpc(0x22, 12), Vpc(0x23, 13))))
        conf.write_text(base + 'vpcs = 0x22:12\n')
        ryu.proc.send_signal(signal.SIGHUP)
        wait_flows(node, expected((8,)))     # our tunnel removed, the article's vxlan-01 kept
        assert 'vxlan-01' in node.vsctl('list-ports', 'br-tun').split()
        assert ryu.proc.poll() is None and 'SIGHUP: VPC added: 0x23' in ryu.log()
    finally:
        ryu.stop()
