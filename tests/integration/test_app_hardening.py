"""Issue 10's controller failures, reproduced against real ovs-vswitchd and ryu-manager.

- learned flows behind a tunnel removed, or an ofport reused, while the controller was down;
- pipeline flows deleted by hand, restored by the drift audit;
- the OpenFlow listener on loopback by default, and a loud exit when it cannot bind;
- a fake switch claiming br-tun's dpid, logged.
Learned flows are made by OVS itself: ``ofproto/trace ... -generate`` runs the pipeline's
learn() as a packet from the tunnel would.
"""
import socket
import struct
import subprocess
import sys
import time

from article_node import COMPUTE1_CONF, OFP_PORT, add_vxlan, build_article_br_tun
from realenv import RyuManager, inside_netns, wait_for
from test_app_real_switch import dump, expected, wait_flows
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.shell import in_netns

LEARN_COOKIE = '0xa9eb8f9011f7e038'
REMOTE_MAC = 'fa:16:3e:00:00:02'


def learn_from_tunnel(ovs, ofport, mac=REMOTE_MAC):
    """A frame from ``mac`` arriving on tunnel ``ofport`` with VNI 0x22: learn() runs."""
    ovs.appctl('ofproto/trace', 'br-tun', 'in_port=%d,tun_id=0x22,dl_src=%s,'
               'dl_dst=fa:16:3e:00:00:01' % (ofport, mac), '-generate')


def learned(ovs):
    return [f for f in text.parse_dump(ovs.ofctl('dump-flows', 'br-tun', 'table=20'))
            if f.startswith('cookie=' + LEARN_COOKIE)]


def restart(ovs, tmp_path, name, conf=COMPUTE1_CONF, extra=()):
    ryu = RyuManager(ovs.netns, str(conf), str(tmp_path / name), OFP_PORT, extra=list(extra))
    return ryu.start()


def test_restart_forgets_macs_behind_a_tunnel_removed_while_down(node, controller, tmp_path):
    wait_flows(node, expected((8,)))
    learn_from_tunnel(node, 8)
    assert [f for f in learned(node) if 'output:8' in f]
    controller.stop()
    node.vsctl('del-port', 'br-tun', 'vxlan-01')
    ryu = restart(node, tmp_path, 'ryu2.log')
    try:
        wait_flows(node, expected(()))
        wait_for(lambda: not learned(node), 10, 'the learned flow to go')
    finally:
        ryu.stop()


def test_restart_forgets_macs_learned_behind_an_ofport_another_tunnel_took(node, controller,
                                                                            tmp_path):
    """Tables 0 and 22 look the same before and after: only the ages tell."""
    wait_flows(node, expected((8,)))
    learn_from_tunnel(node, 8)
    controller.stop()
    time.sleep(1.2)                 # the learned flow is now clearly older than ...
    node.vsctl('del-port', 'br-tun', 'vxlan-01')
    add_vxlan(node, 'vxlan-02', '172.21.12.9', ofport=8)   # ... the port that reuses 8
    assert node.ofport('vxlan-02') == 8
    ryu = restart(node, tmp_path, 'ryu2.log')
    try:
        wait_for(lambda: 'pipeline in sync' in ryu.log(), 30, 'the resync')
        assert sorted(dump(node)) == expected((8,))
        wait_for(lambda: not learned(node), 10, 'the stale learned flow to go')
        assert 'removed stale learned flows cookie=%s, table=20' % LEARN_COOKIE in ryu.log()
        # A MAC learned behind the new tunnel is valid and survives the next resync.
        learn_from_tunnel(node, 8, 'fa:16:3e:00:00:03')
        add_vxlan(node, 'vxlan-03', '172.21.12.10', ofport=10)
        want = expected((8, 10))
        wait_for(lambda: sorted(f for f in dump(node) if f.startswith('cookie=0x79,')) == want,
                 30, 'the new tunnel in the pipeline')
        time.sleep(0.5)
        assert [f for f in learned(node) if 'fa:16:3e:00:00:03' in f]
    finally:
        ryu.stop()


def test_flows_deleted_by_hand_are_restored_by_the_audit(node, tmp_path):
    build_article_br_tun(node)
    conf = tmp_path / 'audit.conf'
    conf.write_text('[vxlan_vpc]\nresync_interval = 1\n')
    ryu = restart(node, tmp_path, 'ryu.log', extra=['--config-file', str(conf)])
    try:
        wait_flows(node, expected((8,)))
        node.ofctl('del-flows', 'br-tun', 'table=22')        # its 2 flows
        node.ofctl('add-flow', 'br-tun', 'cookie=0x79,table=2,priority=0 actions=drop')
        wait_flows(node, expected((8,)), timeout=10)
        wait_for(lambda: 'repaired 3 flows changed behind our back (3 so far)' in ryu.log(),
                 5, 'the repair log line')
    finally:
        ryu.stop()


def listening(netns):
    out = subprocess.run(in_netns(netns, ['ss', '-ltnH']), capture_output=True, text=True,
                         check=True).stdout
    return sorted(line.split()[3] for line in out.splitlines())


def test_openflow_and_rest_listen_on_loopback_by_default(node, tmp_path):
    build_article_br_tun(node)
    ryu = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'ryu.log'), OFP_PORT)
    ryu.argv.remove('--ofp-tcp-listen-port')
    ryu.argv.remove(str(OFP_PORT))          # Ryu's defaults: 6653 and 6633
    ryu.start()
    try:
        wait_flows(node, expected((8,)))
        assert listening(node.netns) == ['127.0.0.1:6633', '127.0.0.1:6653', '127.0.0.1:8080']
    finally:
        ryu.stop()
    explicit = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'any.log'), OFP_PORT,
                          extra=['--ofp-listen-host', '0.0.0.0'])
    explicit.start()
    try:
        wait_for(lambda: '0.0.0.0:%d' % OFP_PORT in listening(node.netns), 15,
                 'the listener the operator asked for')
    finally:
        explicit.stop()


def exit_with_port_taken(node, tmp_path, port):
    """ryu-manager's exit status and log while another process listens on ``port``."""
    squatter = subprocess.Popen(in_netns(node.netns, [
        sys.executable, '-c', 'import socket, time; s = socket.socket(); '
        's.bind(("127.0.0.1", %d)); s.listen(); print("up", flush=True); time.sleep(60)'
        % port]), stdout=subprocess.PIPE, text=True)
    try:
        assert squatter.stdout.readline().strip() == 'up'
        ryu = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'ryu.log'), OFP_PORT)
        started = time.monotonic()
        ryu.start()
        try:
            status = ryu.proc.wait(10)
        finally:
            ryu.stop()
        assert time.monotonic() - started < 10
        assert 'Traceback' not in ryu.log()
        return status, ryu.log()
    finally:
        squatter.kill()
        squatter.wait()


def test_openflow_port_taken_exits_nonzero_at_once(node, tmp_path):
    status, log = exit_with_port_taken(node, tmp_path, OFP_PORT)
    assert status == 1, log
    assert ('cannot listen for OpenFlow on 127.0.0.1 port %d (ofp_listen_host, from '
            'ofp_tcp_listen_port): Address already in use' % OFP_PORT) in log


def test_rest_port_taken_exits_nonzero_at_once(node, tmp_path):
    status, log = exit_with_port_taken(node, tmp_path, 8080)
    assert status == 1, log
    assert ('cannot listen for REST on 127.0.0.1 port 8080 (wsapi_host, wsapi_port): '
            'Address already in use') in log


def test_openflow_port_out_of_range_exits_2(node, tmp_path):
    ryu = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'ryu.log'), 70000)
    ryu.start()
    try:
        assert ryu.proc.wait(10) == 2
    finally:
        ryu.stop()
    assert '[DEFAULT] ofp_tcp_listen_port = 70000: outside 1..65535' in ryu.log()


# --- a fake switch: just enough OpenFlow 1.3 to be taken for br-tun -----------------------

def _msg(msg_type, xid, body=b''):
    return struct.pack('!BBHI', 4, msg_type, 8 + len(body), xid) + body


def _fake_switch(dpid, seconds):
    """Connect to the controller, answer HELLO and FEATURES_REQUEST with ``dpid``, stay."""
    sock = socket.create_connection(('127.0.0.1', OFP_PORT), timeout=5)
    sock.sendall(_msg(0, 1))                                        # OFPT_HELLO
    deadline, buf = time.monotonic() + seconds, b''
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            _, msg_type, length, xid = struct.unpack('!BBHI', buf[:8])
            buf = buf[length:]
            if msg_type == 5:                                       # FEATURES_REQUEST
                sock.sendall(_msg(6, xid, struct.pack('!QIBB2xII', dpid, 256, 254, 0, 0, 0)))
            elif msg_type == 2:                                     # ECHO_REQUEST
                sock.sendall(_msg(3, xid))
    sock.close()


def test_a_second_connection_claiming_br_tuns_dpid_is_logged(node, controller):
    wait_flows(node, expected((8,)))
    dpid = int(node.vsctl('get', 'bridge', 'br-tun', 'datapath_id').strip().strip('"'), 16)
    with inside_netns(node.netns):
        _fake_switch(dpid, 3)
    wait_for(lambda: 'switch %016x: a new OpenFlow connection from 127.0.0.1:' % dpid
             in controller.log(), 10, 'the claim to be logged')
    assert 'claims this dpid' in controller.log()
    # The real switch comes back and br-tun still holds exactly the pipeline.
    wait_for(lambda: controller.log().count('is br-tun: patch-int=1') >= 2, 30,
             'br-tun to reconnect')
    wait_flows(node, expected((8,)))
    assert controller.proc.poll() is None
