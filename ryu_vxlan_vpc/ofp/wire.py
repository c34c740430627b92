"""Our plain flow changes (flows.mods) -> OpenFlow 1.3 bytes, without Ryu message objects.

``encode.flow_mod`` builds an ``OFPFlowMod`` object tree per flow and Ryu serialises it
field by field; for a sync of 100k flows that is most of the time. Here the same bytes come
from a few precompiled ``struct.Struct``s:

- the FlowMod head (header + fixed part) is one pack per message;
- an action tuple repeats across thousands of flows (a VPC's flood flow, a tunnel's
  unicast flows), so its encoded apply-actions instruction is cached by the tuple itself;
- a match is packed by layout (which fields, masked or not), values only.

The output is byte for byte what ``encode.flow_mod(dp, mod)`` serialises to with the same
xid (tests/unit/test_ofp_wire.py proves it per flow shape and on random flows), including
Ryu's quirks: AddFlow carries out_port/out_group 0 and flags 0, a ``vlan_tci`` match always
goes out masked, a masked value is sent ANDed with its mask, and OXM fields are ordered by
OXM type. Rare matches -- with ``Match.other`` fields (read from a switch, so only in
exact deletes) or a MAC/IP not spelt canonically -- go through ``encode.match`` and Ryu's
OFPMatch; ``SetField`` values are converted by Ryu's field types (once per action, cached).

Raises ValueError for what it cannot encode (``Opaque`` actions, unknown field names,
values out of range); the caller then falls back to encode.py. Where Ryu would silently
truncate an out-of-range integer, this raises instead.
"""
import socket
import struct
from functools import lru_cache

from ryu.ofproto import nicira_ext
from ryu.ofproto import ofproto_common
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as ofpp

from ..flows import model as m
from ..flows import mods
from . import encode, fields

OFPVID_PRESENT, ALL_ONES_64 = encode.OFPVID_PRESENT, encode.ALL_ONES_64  # named once there
VERSION = ofp.OFP_VERSION  # 4

# Header + fixed FlowMod fields (everything before the match): '!BBHI' + 'QQBBHHHIIIH2x'.
_FLOW_MOD_HEAD = struct.Struct('!BBHI' + ofp.OFP_FLOW_MOD_PACK_STR0[1:])
# ONF bundle add: header, experimenter, exp_type, bundle_id, pad, flags; then the message.
_BUNDLE_ADD_HEAD = struct.Struct('!BBHIIII2xH')
_XID = struct.Struct('!I')

# --- match ---------------------------------------------------------------------------
# One OXM entry per (field, masked): its 32-bit header and the value's struct code.
_OXM = {}
for _name, _code in (('in_port', 'I'), ('eth_dst', '6s'), ('eth_src', '6s'),
                     ('eth_type', 'H'), ('vlan_vid', 'H'), ('arp_tpa', '4s'),
                     ('tunnel_id', 'Q')):
    _OXM[_name, False] = (getattr(ofp, 'OXM_OF_' + _name.upper()), _code)
    _OXM[_name, True] = (getattr(ofp, 'OXM_OF_%s_W' % _name.upper()), _code)


@lru_cache(maxsize=None)
def _match_layout(layout):
    """(Struct, length, headers) for ofp_match with ``layout``: ((field, masked), ...).

    The Struct takes (type, length, header1, value1[, mask1], header2, ...) and pads the
    match to a multiple of 8 as OpenFlow wants."""
    fmt, headers = '!HH', []
    for key in layout:
        header, code = _OXM[key]
        fmt += 'I' + code + (code if key[1] else '')
        headers.append(header)
    length = struct.calcsize(fmt)
    fmt += '%dx' % (-length % 8)
    return struct.Struct(fmt), length, tuple(headers)


class _Slow(Exception):
    """A value spelt in a way only Ryu's converters (netaddr) read: encode via Ryu."""


def _mac(text):
    """6 bytes of a MAC in the canonical spelling, xx:xx:xx:xx:xx:xx in either case
    (others: _Slow)."""
    if type(text) is not str or len(text) != 17 or text[2::3] != ':::::':
        raise _Slow
    try:
        packed = bytes.fromhex(text.replace(':', ''))
    except ValueError:
        raise _Slow from None
    if len(packed) != 6:  # fromhex skips whitespace
        raise _Slow
    return packed


def _ipv4(text):
    """4 bytes of a dotted quad without leading zeros (others: _Slow)."""
    try:
        packed = socket.inet_aton(text)
    except (OSError, TypeError, ValueError):
        raise _Slow from None
    if socket.inet_ntoa(packed) != text:  # inet_aton also takes 10.1, 0x0a.0.0.1, ...
        raise _Slow
    return packed


def _int(value, bits, masked):
    """(value[, mask]) of an integer field; a masked value goes out ANDed with its mask,
    as Ryu's OFPMatch normalises it."""
    if masked:
        value, mask = value
        _check_int(mask, bits)
        _check_int(value, bits)
        return (value & mask, mask)
    _check_int(value, bits)
    return (value,)


def _mac_field(value, masked):
    if masked:
        value, mask = _mac(value[0]), _mac(value[1])
        return (bytes(a & b for a, b in zip(value, mask)), mask)
    return (_mac(value),)


def _check_int(value, bits):
    if not isinstance(value, int) or value < 0 or value >> bits:
        raise ValueError('%r does not fit in %d bits' % (value, bits))


def match_bytes(mt):
    """The ofp_match (padded) for one of our matches, as encode.match + Ryu serialise it."""
    if mt.other:
        return _ryu_match_bytes(mt)
    try:
        layout, args = _match_fields(mt)
    except _Slow:
        return _ryu_match_bytes(mt)
    packer, length, headers = _match_layout(layout)
    flat = [ofp.OFPMT_OXM, length]
    for header, values in zip(headers, args):
        flat.append(header)
        flat.extend(values)
    return packer.pack(*flat)


def _match_fields(mt):
    """((field, masked), ...) and their values, in OXM type order -- the order Ryu's
    OFPMatch sorts fields into: in_port(0) eth_dst(3) eth_src(4) eth_type(5) vlan_vid(6)
    arp_tpa(23) tunnel_id(38)."""
    layout, args = [], []
    if mt.in_port is not None:
        layout.append(('in_port', False))
        args.append(_int(mt.in_port, 32, False))
    for field, value in (('eth_dst', mt.dl_dst), ('eth_src', mt.dl_src)):
        if value is not None:
            masked = isinstance(value, tuple)
            layout.append((field, masked))
            args.append(_mac_field(value, masked))
    if mt.eth_type is not None:
        layout.append(('eth_type', False))
        args.append(_int(mt.eth_type, 16, False))
    if mt.vlan_tci is not None:  # as in encode.match, a vlan_tci wins over dl_vlan
        value, mask = mt.vlan_tci if isinstance(mt.vlan_tci, tuple) else (mt.vlan_tci, 0xffff)
        if mask & 0xe000:
            raise ValueError('vlan_tci PCP bits cannot be matched through vlan_vid: %r'
                             % (mt.vlan_tci,))
        layout.append(('vlan_vid', True))  # always masked, as encode.match builds it
        args.append(_int((value & 0x1fff, mask & 0x1fff), 16, True))
    elif mt.dl_vlan is not None:
        layout.append(('vlan_vid', False))
        args.append(_int(OFPVID_PRESENT | mt.dl_vlan, 16, False))
    if mt.arp_tpa is not None:
        layout.append(('arp_tpa', False))
        args.append((_ipv4(mt.arp_tpa),))
    if mt.tun_id is not None:
        masked = isinstance(mt.tun_id, tuple)
        layout.append(('tunnel_id', masked))
        args.append(_int(mt.tun_id, 64, masked))
    return tuple(layout), args


_EMPTY_MATCH = struct.pack('!HH4x', ofp.OFPMT_OXM, 4)  # OFPMatch(): type, length 4, pad


def _ryu_match_bytes(mt):
    """Matches with fields read from a switch (Match.other) or values in an unusual
    spelling: rare, so Ryu's own OFPMatch encodes them (exact by construction)."""
    try:
        match = encode.match(ofpp, mt)
        buf = bytearray()
        match.serialize(buf, 0)
    except ValueError:
        raise
    except Exception as exc:  # Ryu's KeyError/struct.error/netaddr errors
        raise ValueError('cannot encode match %r: %s' % (mt, exc)) from None
    return bytes(buf)


# --- actions -------------------------------------------------------------------------
_OUTPUT = struct.Struct('!HHIH6x')
_PUSH_VLAN = struct.Struct('!HHH2x')
_POP_VLAN = struct.pack('!HH4x', ofp.OFPAT_POP_VLAN, 8)
_SET_VLAN_VID = struct.Struct('!HHIH6x')           # set_field with a 2-byte OXM, padded
_NX_HEAD = struct.Struct('!HHIH')                  # experimenter action head + NX subtype
_NX_RESUBMIT_TABLE = struct.Struct('!HB3x')
_NX_SET_TUNNEL = struct.Struct('!2xI')
_NX_SET_TUNNEL64 = struct.Struct('!6xQ')
_NX_REG_LOAD = struct.Struct('!HIQ')
_NX_LEARN = struct.Struct('!HHHQHBxHH')
_RESUBMIT_IN_PORT = 0xfff8                         # "resubmit(,T)": keep in_port


def _nx(subtype, body):
    """A Nicira action: experimenter head, subtype, body, zero-padded to 8 bytes."""
    length = _NX_HEAD.size + len(body)
    length += -length % 8
    head = _NX_HEAD.pack(ofp.OFPAT_EXPERIMENTER, length, ofproto_common.NX_EXPERIMENTER_ID,
                         subtype)
    return (head + body).ljust(length, b'\0')


@lru_cache(maxsize=None)
def _header_bytes(ryu):
    """The NXM/OXM header Ryu writes for a field named the Ryu way (4 or 8 bytes)."""
    buf = bytearray()
    try:
        ofp.oxm_serialize_header(ofp.oxm_from_user_header(ryu), buf, 0)
    except KeyError as exc:
        raise ValueError(str(exc)) from None
    return bytes(buf)


@lru_cache(maxsize=None)
def _nxm_header(name):
    """The 32-bit header Ryu writes for our field name (e.g. NXM_OF_VLAN_TCI)."""
    buf = _header_bytes(fields.ryu_name(name))
    if len(buf) != 4:  # experimenter OXMs have 8-byte headers; these actions take 4
        raise ValueError('field %s has no 4-byte NXM header' % name)
    return struct.unpack('!I', buf)[0]


@lru_cache(maxsize=1024)  # the ARP responder's three moves repeat in every answer flow
def _move(action):
    """NXActionRegMove: n_bits, src_ofs, dst_ofs, then the two fields' headers."""
    src, dst = action.src, action.dst
    return _nx(nicira_ext.NXAST_REG_MOVE,
               struct.pack('!HHH', src.n_bits, src.ofs, dst.ofs)
               + _header_bytes(fields.move_ryu_name(src.name))
               + _header_bytes(fields.move_ryu_name(dst.name)))


# set_field values our pipeline writes (the ARP responder's MACs and IPs, once per answer
# flow): packed here; anything else, or another spelling, is converted by Ryu's field types.
_SET_FIELD_PACK = {'eth_src': _mac, 'eth_dst': _mac, 'arp_sha': _mac, 'arp_tha': _mac,
                   'arp_spa': _ipv4, 'arp_tpa': _ipv4}


_OXM_NUMBERS = {}  # set_field field -> (OXM field number, value length)


def _oxm_number(field, value):
    """(OXM field number, value length) of a set_field field, as Ryu numbers it (asked
    once per field, with the first value seen)."""
    try:
        return _OXM_NUMBERS[field]
    except KeyError:
        pass
    n, packed, mask = ofp.oxm_from_user(field, value)
    if mask is not None or not isinstance(n, int):
        raise ValueError('masked or experimenter field')
    _OXM_NUMBERS[field] = n, len(packed)
    return n, len(packed)


def _set_field(action):
    """OFPActionSetField: one OXM TLV, padded to 8, as Ryu serialises it."""
    try:
        try:
            value = _SET_FIELD_PACK[action.field](action.value)
            n, size = _oxm_number(action.field, action.value)
            if size != len(value):
                raise _Slow
        except (KeyError, _Slow):
            n, value, mask = ofp.oxm_from_user(action.field, action.value)
            if mask is not None or not isinstance(n, int):
                raise ValueError('masked or experimenter field')
    except Exception as exc:  # KeyError, netaddr's errors
        raise ValueError('cannot encode %r: %s' % (action, exc)) from None
    tlv = struct.pack('!I', (n << 9) | len(value)) + value
    length = 4 + len(tlv)
    length += -length % 8
    return (struct.pack('!HH', ofp.OFPAT_SET_FIELD, length) + tlv).ljust(length, b'\0')


def _subfield(ref):
    return struct.pack('!IH', _nxm_header(ref.name), ref.ofs)


def _learn_spec(spec):
    """One flow_mod_spec of learn(), as Ryu's _NXFlowSpec.serialize lays it out."""
    if isinstance(spec, m.LearnOutput):
        dst_type, src, dst, n_bits = 2, spec.src, None, spec.src.n_bits
    else:
        dst_type = 0 if isinstance(spec, m.LearnMatch) else 1
        src, dst, n_bits = spec.src, spec.dst, spec.dst.n_bits
    if not isinstance(n_bits, int) or not 0 < n_bits < 1024:
        raise ValueError('learn spec %r: bad bit count' % (spec,))
    immediate = isinstance(src, int)
    out = struct.pack('!H', (immediate << 13) | (dst_type << 11) | n_bits)
    if immediate:
        size = (n_bits + 15) // 16 * 2
        _check_int(src, size * 8)
        out += src.to_bytes(size, 'big')
    else:
        out += _subfield(src)
    if dst is not None:
        out += _subfield(dst)
    return out


def _learn(action):
    _check_int(action.cookie, 64)
    body = _NX_LEARN.pack(action.idle_timeout, action.hard_timeout, action.priority,
                          action.cookie, 0, action.table, 0, 0)
    return _nx(nicira_ext.NXAST_LEARN, body + b''.join(_learn_spec(s) for s in action.specs))


def action_bytes(action):
    """The OpenFlow actions (as bytes) for one of our actions, as encode.actions makes them."""
    if isinstance(action, m.Output):
        return _OUTPUT.pack(ofp.OFPAT_OUTPUT, 16, action.port, ofp.OFPCML_MAX)
    if isinstance(action, m.Resubmit):
        return _nx(nicira_ext.NXAST_RESUBMIT_TABLE,
                   _NX_RESUBMIT_TABLE.pack(_RESUBMIT_IN_PORT, action.table))
    if isinstance(action, m.ModVlanVid):  # push_vlan + set_field vlan_vid
        return (_PUSH_VLAN.pack(ofp.OFPAT_PUSH_VLAN, 8, 0x8100)
                + _SET_VLAN_VID.pack(ofp.OFPAT_SET_FIELD, 16, ofp.OXM_OF_VLAN_VID,
                                     OFPVID_PRESENT | action.vid))
    if isinstance(action, m.StripVlan):
        return _POP_VLAN
    if isinstance(action, m.SetTunnel):
        _check_int(action.tun_id, 64)
        if action.tun_id >> 32:
            return _nx(nicira_ext.NXAST_SET_TUNNEL64, _NX_SET_TUNNEL64.pack(action.tun_id))
        return _nx(nicira_ext.NXAST_SET_TUNNEL, _NX_SET_TUNNEL.pack(action.tun_id))
    if isinstance(action, m.Load):
        dst = action.dst
        ofs_nbits = nicira_ext.ofs_nbits(dst.ofs, dst.ofs + dst.n_bits - 1)
        return _nx(nicira_ext.NXAST_REG_LOAD,
                   _NX_REG_LOAD.pack(ofs_nbits, _nxm_header(dst.name), action.value))
    if isinstance(action, m.Move):
        return _move(action)
    if isinstance(action, m.SetField):
        return _set_field(action)
    if isinstance(action, m.Learn):
        return _learn(action)
    raise ValueError('cannot encode action %r' % (action,))


_INSTRUCTIONS = {}   # action tuple -> encoded apply-actions instruction (b'' for drop)
_INSTRUCTIONS_MAX = 1 << 16  # a bound on memory; a pipeline has a few thousand tuples


def apply_actions(body):
    """The apply-actions instruction holding these encoded actions (none: no instruction,
    a drop)."""
    return struct.pack('!HH4x', ofp.OFPIT_APPLY_ACTIONS, 8 + len(body)) + body if body else b''


def instructions_bytes(actions):
    """The apply-actions instruction for an action tuple (cached: tuples repeat a lot)."""
    try:
        return _INSTRUCTIONS[actions]
    except KeyError:
        pass
    try:
        body = b''.join(action_bytes(a) for a in actions)
    except (struct.error, OverflowError, TypeError, AttributeError) as exc:
        raise ValueError('cannot encode actions %r: %s' % (actions, exc)) from None
    out = apply_actions(body)
    if len(_INSTRUCTIONS) >= _INSTRUCTIONS_MAX:
        _INSTRUCTIONS.clear()
    _INSTRUCTIONS[actions] = out
    return out


# --- messages ------------------------------------------------------------------------
def _parts(mod):
    """(the FlowMod's fixed fields after the header, match bytes, instruction bytes)."""
    if isinstance(mod, mods.AddFlow):
        f = mod.flow
        return ((f.cookie, 0, f.table, ofp.OFPFC_ADD, f.idle_timeout, f.hard_timeout,
                 f.priority, ofp.OFP_NO_BUFFER, 0, 0, 0),
                match_bytes(f.match), instructions_bytes(f.actions))
    if isinstance(mod, mods.DeleteStrict):
        f = mod.flow
        return ((f.cookie, ALL_ONES_64, f.table, ofp.OFPFC_DELETE_STRICT, 0, 0, f.priority,
                 ofp.OFP_NO_BUFFER, ofp.OFPP_ANY, ofp.OFPG_ANY, 0),
                match_bytes(f.match), b'')
    if isinstance(mod, mods.DeleteFlows):
        return ((mod.cookie, ALL_ONES_64, ofp.OFPTT_ALL if mod.table is None else mod.table,
                 ofp.OFPFC_DELETE, 0, 0, ofp.OFP_DEFAULT_PRIORITY, ofp.OFP_NO_BUFFER,
                 ofp.OFPP_ANY if mod.out_port is None else mod.out_port, ofp.OFPG_ANY, 0),
                _EMPTY_MATCH if mod.match is None else match_bytes(mod.match), b'')
    raise ValueError('not a flow change: %r' % (mod,))


def _pack(packer, *values):
    try:
        return packer.pack(*values)
    except struct.error as exc:
        raise ValueError('flow mod field out of range: %s' % exc) from None


def flow_mod_bytes(mod, xid):
    """One of our flow changes (flows.mods) as the bytes of an OpenFlow 1.3 FlowMod."""
    fixed, match, instructions = _parts(mod)
    length = _FLOW_MOD_HEAD.size + len(match) + len(instructions)
    return (_pack(_FLOW_MOD_HEAD, VERSION, ofp.OFPT_FLOW_MOD, length, xid, *fixed)
            + match + instructions)


def bundle_add_bytes(bundle_id, flags, inner, xid):
    """ONFBundleAddMsg(bundle_id, flags, inner message, no properties) with ``xid``.

    As Ryu does (OF1.3 bundle extension 3.3), the inner message gets the outer xid."""
    if _XID.unpack_from(inner, 4)[0] != xid:
        inner = inner[:4] + _XID.pack(xid) + inner[8:]
    return _BUNDLE_ADD_HEAD.pack(
        VERSION, ofp.OFPT_EXPERIMENTER, _BUNDLE_ADD_HEAD.size + len(inner), xid,
        ofproto_common.ONF_EXPERIMENTER_ID, ofp.ONF_ET_BUNDLE_ADD_MESSAGE, bundle_id,
        flags) + inner


# Bundle-add head and FlowMod head in one pack: the same bytes as the two in a row.
_BUNDLED_FLOW_MOD_HEAD = struct.Struct(_BUNDLE_ADD_HEAD.format + _FLOW_MOD_HEAD.format[1:])


def _pairs(mods_, xids):
    mods_, xids = list(mods_), list(xids)
    if len(mods_) != len(xids):
        raise ValueError('%d flow changes but %d xids' % (len(mods_), len(xids)))
    return zip(mods_, xids)


def bundle_bytes(mods_, bundle_id, flags, xids):
    """One buffer with a bundle-add message per flow change, each FlowMod carrying its
    outer xid (``xids``: one per change, in order). Open and commit are not included.
    Built in one bytearray (no list of small pieces), returned as bytes."""
    out = bytearray()
    for mod, xid in _pairs(mods_, xids):
        fixed, match, instructions = _parts(mod)
        inner = _FLOW_MOD_HEAD.size + len(match) + len(instructions)
        out += _pack(_BUNDLED_FLOW_MOD_HEAD, VERSION, ofp.OFPT_EXPERIMENTER,
                     _BUNDLE_ADD_HEAD.size + inner, xid, ofproto_common.ONF_EXPERIMENTER_ID,
                     ofp.ONF_ET_BUNDLE_ADD_MESSAGE, bundle_id, flags,
                     VERSION, ofp.OFPT_FLOW_MOD, inner, xid, *fixed)
        out += match
        out += instructions
    return bytes(out)


def flow_mods_bytes(mods_, xids):
    """One buffer with the FlowMods themselves (no bundle), one xid each, in order."""
    out = bytearray()
    for mod, xid in _pairs(mods_, xids):
        out += flow_mod_bytes(mod, xid)
    return bytes(out)


def next_xids(datapath, count):
    """Reserve ``count`` xids from a Ryu Datapath's own counter, as ``set_xid`` would."""
    first = datapath.xid
    datapath.xid = (first + count) & datapath.ofproto.MAX_XID
    return [(first + i) & datapath.ofproto.MAX_XID for i in range(1, count + 1)]
