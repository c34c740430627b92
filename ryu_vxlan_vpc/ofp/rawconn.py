"""A minimal blocking OpenFlow 1.3 client on a bridge's management socket.

For tests and benchmarks that need the raw bytes OVS sends (flow-stats replies) or want to
send wire.py's bytes without ryu-manager: ``unix:DIR/br-tun.mgmt`` is a plain Unix socket,
reachable from any network namespace. Not used by the app. Echo requests are answered;
other asynchronous messages are skipped.
"""
import socket
import struct

from ryu.ofproto import ofproto_common
from ryu.ofproto import ofproto_v1_3 as ofp

_HEADER = struct.Struct('!BBHI')
_MP_HEADER = struct.Struct('!HH4x')  # multipart type, flags (after the OpenFlow header)


class OpenFlowError(Exception):
    """The switch answered with OFPT_ERROR."""


class RawConnection:
    def __init__(self, path, timeout=60.0):
        if path.startswith('unix:'):
            path = path[len('unix:'):]
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self._xid = 0x10000
        self.send(_HEADER.pack(ofp.OFP_VERSION, ofp.OFPT_HELLO, 8, self.next_xid()))
        version, msg_type, _, _ = _HEADER.unpack(self.recv()[:8])
        if msg_type != ofp.OFPT_HELLO or version < ofp.OFP_VERSION:
            raise ConnectionError('no OpenFlow 1.3 hello (got version %d type %d): does the '
                                  'bridge allow OpenFlow13?' % (version, msg_type))

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def next_xid(self):
        self._xid += 1
        return self._xid

    def send(self, data):
        self.sock.sendall(data)

    def _exactly(self, n):
        chunks = []
        while n:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise ConnectionError('the switch closed the connection')
            chunks.append(chunk)
            n -= len(chunk)
        return b''.join(chunks)

    def recv(self):
        """The next whole message (bytes), answering echo requests on the way."""
        while True:
            head = self._exactly(8)
            version, msg_type, length, xid = _HEADER.unpack(head)
            msg = head + self._exactly(length - 8)
            if msg_type == ofp.OFPT_ECHO_REQUEST:
                self.send(_HEADER.pack(version, ofp.OFPT_ECHO_REPLY, length, xid) + msg[8:])
                continue
            return msg

    def until_reply(self, xid):
        """Messages up to and including the first one with ``xid``; raises on an error
        message for any xid in between (errors for earlier requests come first)."""
        while True:
            msg = self.recv()
            msg_type, msg_xid = msg[1], _HEADER.unpack_from(msg)[3]
            if msg_type == ofp.OFPT_ERROR:
                err_type, code = struct.unpack_from('!HH', msg, 8)
                raise OpenFlowError('xid %#x: error type %d code %d' % (msg_xid, err_type,
                                                                         code))
            if msg_xid == xid:
                return msg

    def request(self, data):
        """Send one message (bytes with its xid) and return the reply with that xid."""
        self.send(data)
        return self.until_reply(_HEADER.unpack_from(data)[3])

    def barrier(self):
        xid = self.next_xid()
        return self.request(_HEADER.pack(ofp.OFP_VERSION, ofp.OFPT_BARRIER_REQUEST, 8, xid))

    def multipart(self, data):
        """Send a multipart request; the whole reply messages (bytes), in order."""
        xid = _HEADER.unpack_from(data)[3]
        self.send(data)
        replies = []
        while True:
            msg = self.until_reply(xid)
            replies.append(msg)
            if not _MP_HEADER.unpack_from(msg, 8)[1] & ofp.OFPMPF_REPLY_MORE:
                return replies


def flow_stats_request(xid, table=ofp.OFPTT_ALL):
    """OFPMP_FLOW for every flow of ``table`` (all tables by default), any cookie."""
    body = struct.pack('!B3xII4xQQ', table, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0)
    match = struct.pack('!HH4x', ofp.OFPMT_OXM, 4)
    length = 16 + len(body) + len(match)
    return (_HEADER.pack(ofp.OFP_VERSION, ofp.OFPT_MULTIPART_REQUEST, length, xid)
            + _MP_HEADER.pack(ofp.OFPMP_FLOW, 0) + body + match)


def bundle_ctrl(xid, bundle_id, ctrl_type, flags):
    """ONF bundle control (open, commit, discard), as Ryu's ONFBundleCtrlMsg lays it out."""
    return struct.pack('!BBHIIIIHH', ofp.OFP_VERSION, ofp.OFPT_EXPERIMENTER, 24, xid,
                       ofproto_common.ONF_EXPERIMENTER_ID, ofp.ONF_ET_BUNDLE_CONTROL,
                       bundle_id, ctrl_type, flags)
