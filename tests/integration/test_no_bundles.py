"""A switch that refuses OpenFlow bundles still gets exactly the pipeline, one by one.

OVS always takes the ONF bundle extension, so a small proxy sits between br-tun and the
real ryu-manager (both in the test's namespace) and answers every bundle message from the
controller with the error a switch without bundles sends (OFPET_BAD_REQUEST /
OFPBRC_BAD_EXPERIMENTER), forwarding everything else untouched.
"""
import socket
import struct
import threading

from article_node import COMPUTE1_CONF, OFP_PORT, add_vxlan, build_article_br_tun
from realenv import RyuManager, inside_netns, wait_for
from test_app_real_switch import expected, wait_flows

PROXY_PORT = OFP_PORT + 1
OFPT_ERROR, OFPT_EXPERIMENTER = 1, 4
ONF_EXPERIMENTER_ID = 0x4F4E4600
ONF_BUNDLE_TYPES = (2300, 2301)        # ONF_ET_BUNDLE_CONTROL, ONF_ET_BUNDLE_ADD_MESSAGE
OFPET_BAD_REQUEST, OFPBRC_BAD_EXPERIMENTER = 1, 3


class NoBundleProxy:
    def __init__(self, netns):
        self.netns, self.refused = netns, 0
        with inside_netns(netns):
            self.listener = socket.create_server(('127.0.0.1', PROXY_PORT))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                switch, _ = self.listener.accept()
            except OSError:
                return
            try:
                with inside_netns(self.netns):
                    controller = socket.create_connection(('127.0.0.1', OFP_PORT))
            except OSError:     # ryu-manager not listening yet: OVS connects again
                switch.close()
                continue
            threading.Thread(target=self._pipe, args=(switch, controller), daemon=True).start()
            threading.Thread(target=self._filter, args=(controller, switch),
                             daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            s.close()

    def _filter(self, controller, switch):
        """Controller -> switch, message by message: bundle messages are refused."""
        buf = b''
        try:
            while True:
                data = controller.recv(65536)
                if not data:
                    break
                buf += data
                while len(buf) >= 8:
                    version, kind, length, xid = struct.unpack_from('!BBHI', buf)
                    if len(buf) < length:
                        break
                    msg, buf = buf[:length], buf[length:]
                    if (kind == OFPT_EXPERIMENTER and length >= 16 and
                            struct.unpack_from('!II', msg, 8) in
                            [(ONF_EXPERIMENTER_ID, t) for t in ONF_BUNDLE_TYPES]):
                        self.refused += 1
                        body = struct.pack('!HH', OFPET_BAD_REQUEST,
                                           OFPBRC_BAD_EXPERIMENTER) + msg[:64]
                        controller.sendall(struct.pack('!BBHI', version, OFPT_ERROR,
                                                       8 + len(body), xid) + body)
                    else:
                        switch.sendall(msg)
        except OSError:
            pass
        for s in (controller, switch):
            s.close()

    def close(self):
        self.listener.close()


def test_a_switch_without_bundles_gets_the_pipeline_one_by_one(node, tmp_path):
    build_article_br_tun(node)
    proxy = NoBundleProxy(node.netns)
    node.vsctl('set-controller', 'br-tun', 'tcp:127.0.0.1:%d' % PROXY_PORT)
    ryu = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'ryu.log'), OFP_PORT)
    ryu.start()
    try:
        wait_flows(node, expected((8,)))
        wait_for(lambda: 'pipeline in sync' in ryu.log(), 10, 'the sync report')
        log = ryu.log()
        assert 'no OpenFlow bundles' in log, log
        assert '(13 added, 0 removed, 0 unchanged; 13 messages one by one)' in log, log
        assert proxy.refused >= 1
        # A later change (a new tunnel) goes one by one as well, and exactly.
        add_vxlan(node, 'vxlan-ac150c09', '172.21.12.9', ofport=9)
        wait_flows(node, expected((8, 9)))
        assert '(2 added, 0 removed, 12 unchanged; 2 messages one by one)' in ryu.log()
        assert 'sync failed' not in ryu.log()
    finally:
        ryu.stop()
        proxy.close()
