"""Rows of the bulk shapes (pipeline.populated) -> FlowMod bytes, one struct pack per row.

What ``wire.flow_mod_bytes(AddFlow(shape.flow(row)), xid)`` gives (and so Ryu's
serialisation), bundled or not. The constant parts are cut from wire.py's own encoding
of a sample row at import, so they cannot drift from it; tests/unit/test_ofp_rows_wire.py
compares every byte on random rows.

Also what OVS sends back for a flow (``reported_entry``): OVS (3.1) does not echo every action
as sent: ``set_tunnel`` comes back as a set_field of ``tunnel_id``, and a move's fields are
named by their NXM headers, not OXM ones (``reported_action``). ofp.rows_read reads rows
back from that encoding; tests/integration/test_ofp_raw_real_ovs.py checks it against a
real OVS.

A row this cannot pack (a MAC or IP not spelt canonically, a value out of range) raises
ValueError; the sender then encodes the rows one by one through wire.py / Ryu.
"""
import struct

from ryu.ofproto import nicira_ext
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_common

from ..flows import model as m
from ..pipeline.populated import ArpAnswer, UcastPopulated, per_shape
from . import fields, wire

_ENTRY = struct.Struct(ofp.OFP_FLOW_STATS_0_PACK_STR)   # a flow-stats entry's first 48 bytes
_FLOW_MOD = wire._FLOW_MOD_HEAD
_BUNDLED = wire._BUNDLED_FLOW_MOD_HEAD
_BUNDLE_ADD_SIZE = wire._BUNDLE_ADD_HEAD.size


# --- what OVS reports ----------------------------------------------------------------
def reported_action(action):
    """One action's bytes as OVS 3.1 puts it in a flow-stats reply (OpenFlow 1.3)."""
    if isinstance(action, m.SetTunnel):
        wire._check_int(action.tun_id, 64)
        return struct.pack('!HHIQ', ofp.OFPAT_SET_FIELD, 16, ofp.OXM_OF_TUNNEL_ID,
                           action.tun_id)
    if isinstance(action, m.Move):
        src, dst = action.src, action.dst
        return wire._nx(nicira_ext.NXAST_REG_MOVE,
                        struct.pack('!HHH', src.n_bits, src.ofs, dst.ofs)
                        + _nxm_move_header(src.name) + _nxm_move_header(dst.name))
    return wire.action_bytes(action)


def _nxm_move_header(name):
    """The NXM (not OXM) header of a move's field, as OVS reports it."""
    return wire._header_bytes(fields.move_ryu_name(name) + '_nxm')


def reported_instructions(actions):
    body = b''.join(reported_action(a) for a in actions)
    return wire.apply_actions(body)


def reported_entry(flow):
    """The flow-stats entry OVS sends for ``flow``, its counters (durations, packets,
    bytes) zero; flow flags must be none."""
    if flow.flags:
        raise ValueError('flow flags are not in a reported entry')
    tail = wire.match_bytes(flow.match) + reported_instructions(flow.actions)
    return _ENTRY.pack(_ENTRY.size + len(tail), flow.table, 0, 0, flow.priority,
                       flow.idle_timeout, flow.hard_timeout, 0, flow.cookie, 0, 0) + tail


def _add_head(shape):
    """FlowMod fields after the header of an add of one of the shape's flows."""
    return (shape.cookie, 0, shape.table, ofp.OFPFC_ADD, 0, 0, shape.priority,
            ofp.OFP_NO_BUFFER, 0, 0, 0)


def _around(encoded, value):
    """(before, after) of the first place ``value`` sits in ``encoded``."""
    at = encoded.index(value)
    return encoded[:at], encoded[at + len(value):]


# --- table 20: (local VLAN, MAC, VNI, ofport) ----------------------------------------
_UCAST_MATCH = struct.Struct('!HHI6sIH4x')   # eth_dst, vlan_vid (OXM type order)


class _Ucast:
    def __init__(self, shape):
        self.shape = shape
        self.head = _add_head(shape)
        self.sent = {}   # (VNI, ofport) -> instructions

    def match(self, row, _pack=_UCAST_MATCH.pack, _mac=wire._mac):
        return _pack(ofp.OFPMT_OXM, 20, ofp.OXM_OF_ETH_DST, _mac(row[1]),
                     ofp.OXM_OF_VLAN_VID, wire.OFPVID_PRESENT | row[0])

    def _actions(self, row):
        return (m.StripVlan(), m.SetTunnel(row[2]), m.Output(row[3]))

    def tail(self, row):
        inst = self.sent.get(row[2:])
        if inst is None:
            inst = _remember(self.sent, row[2:], wire.instructions_bytes(self._actions(row)))
        return self.match(row) + inst


# --- table 21: (local VLAN, IP, MAC) -------------------------------------------------
_ARP_MATCH = struct.Struct('!HHIHIHI4s')      # eth_type, vlan_vid, arp_tpa: 24, no pad
_SAMPLE = (1, '10.201.202.203', 'fa:16:3e:a1:b2:c3')
_SAMPLE_MAC, _SAMPLE_IP = bytes.fromhex('fa163ea1b2c3'), bytes([10, 201, 202, 203])


class _Arp:
    def __init__(self, shape):
        self.shape = shape
        self.head = _add_head(shape)
        actions = shape.flow(_SAMPLE).actions
        self.sent = self._template(wire.instructions_bytes(actions))

    @staticmethod
    def _template(encoded):
        """A Struct taking (MAC, IP, MAC) into the sample's instruction bytes: the
        sample's MAC is where arp_sha and eth_src are set, its IP where arp_spa is."""
        if encoded.count(_SAMPLE_MAC) != 2 or encoded.count(_SAMPLE_IP) != 1:
            raise AssertionError('the ARP answer no longer sets MAC, IP, MAC once each')
        p1, rest = _around(encoded, _SAMPLE_MAC)
        p2, rest = _around(rest, _SAMPLE_IP)
        p3, p4 = _around(rest, _SAMPLE_MAC)
        fmt = '!%ds6s%ds4s%ds6s%ds' % (len(p1), len(p2), len(p3), len(p4))
        return _Template(struct.Struct(fmt), (p1, p2, p3, p4))

    @staticmethod
    def match(row, ip, _pack=_ARP_MATCH.pack):
        return _pack(ofp.OFPMT_OXM, 24, ofp.OXM_OF_ETH_TYPE, 0x0806,
                     ofp.OXM_OF_VLAN_VID, wire.OFPVID_PRESENT | row[0], ofp.OXM_OF_ARP_TPA, ip)

    def tail(self, row):
        ip = wire._ipv4(row[1])
        return self.match(row, ip) + self.sent.pack(wire._mac(row[2]), ip)


class _Template:
    def __init__(self, packer, consts):
        self.packer, self.consts = packer, consts

    def pack(self, mac, ip):
        p1, p2, p3, p4 = self.consts
        return self.packer.pack(p1, mac, p2, ip, p3, mac, p4)


_CACHE_MAX = 1 << 16   # per codec: distinct (VNI, tunnel) pairs kept


def _remember(cache, key, value):
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value
    return value


_CODECS = {UcastPopulated: _Ucast, ArpAnswer: _Arp}
_BY_SHAPE = {}


def _codec(shape):
    return per_shape(_CODECS, _BY_SHAPE, shape, 'row encoder')


def _tails(codec, rows):
    try:
        return [codec.tail(row) for row in rows]
    except (wire._Slow, struct.error, TypeError, OverflowError) as exc:
        raise ValueError('cannot pack a row of %s: %s' % (codec.shape.name, exc)) from None


# --- public --------------------------------------------------------------------------
def add_bytes(shape, rows, xids, bundle_id=None, flags=0):
    """FlowMod adds of each row's flow (inside bundle-add messages when ``bundle_id``),
    one xid each: the bytes wire.py makes of ``AddFlow(shape.flow(row))``."""
    codec = _codec(shape)
    if len(rows) != len(xids):
        raise ValueError('%d rows but %d xids' % (len(rows), len(xids)))
    head, out = codec.head, bytearray()
    for tail, xid in zip(_tails(codec, rows), xids):
        inner = _FLOW_MOD.size + len(tail)
        try:
            if bundle_id is None:
                out += _FLOW_MOD.pack(wire.VERSION, ofp.OFPT_FLOW_MOD, inner, xid, *head)
            else:
                out += _BUNDLED.pack(wire.VERSION, ofp.OFPT_EXPERIMENTER,
                                     _BUNDLE_ADD_SIZE + inner, xid,
                                     ofproto_common.ONF_EXPERIMENTER_ID,
                                     ofp.ONF_ET_BUNDLE_ADD_MESSAGE, bundle_id, flags,
                                     wire.VERSION, ofp.OFPT_FLOW_MOD, inner, xid, *head)
        except struct.error as exc:
            raise ValueError('flow mod field out of range: %s' % exc) from None
        out += tail
    return bytes(out)
