"""Raw OFPMP_FLOW reply bodies -> our FlowStats, without a Ryu object per flow.

Ryu parses every flow-stats reply into OFPFlowStats/OFPMatch/OFPInstruction/OFPAction
objects before a handler sees it, and ``decode.flow_stats`` then turns those into our
model; for 100k flows that is seconds and hundreds of MiB. Here the body is walked once
with ``struct``, and decode.py itself still does every mapping to our model, so the result
is ``decode.flow_stats`` of Ryu's parsed entry by construction:

- match: the OXM fields are read here into the (name, value) pairs Ryu's OFPMatch would
  hold -- plain integers and MACs converted directly, every other field (IPv4, IPv6,
  experimenter OXMs, odd sizes) by Ryu's own ``oxm_to_user`` -- and ``decode.match`` maps
  them (so ``Match.other`` holds exactly what it would);
- instructions: looked up by their bytes (a few thousand distinct action lists serve 100k
  flows). On a miss each action is parsed by Ryu's ``OFPAction.parser`` -- itself cached
  by the action's bytes, so Ryu parses each distinct action once -- any other instruction
  by ``OFPInstruction.parser``, and ``decode._instructions`` maps the list. So foreign
  actions (registers, resubmit, goto_table, note, ...) come out exactly as decode.py
  makes them, without a per-entry fallback.

A ``FlowCache`` (opt-in, one per switch) skips all of that for entries already decoded in
the last two dumps. Lengths that would make Ryu loop or misread raise ValueError, and so
does an entry Ryu cannot parse (its AssertionError/KeyError; Ryu's own path would drop
the whole reply). The caches hold bytes
copies, never views of a reply, and are cleared when they reach ``_CACHE_MAX`` entries.

``install()`` makes Ryu keep OFPMP_FLOW reply bodies raw; see ``OFPFlowStatsReply``.
"""
import struct

from ryu.lib import type_desc
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as ofpp

from ..flows import model as m
from . import decode

_ENTRY = struct.Struct(ofp.OFP_FLOW_STATS_0_PACK_STR)  # the 48 bytes before the match
# Where an entry keeps its counters (durations; packet and byte counts), which change from
# one dump to the next while the flow does not; and the counters read from there.
COUNTER_RUNS = ((4, 12), (32, 48))
COUNTERS = struct.Struct('!4xII20xQQ')   # duration sec, nsec; packets, bytes
_MIN_ENTRY = _ENTRY.size + 8   # the fixed part and an empty match (padded to 8)
_LENGTH = struct.Struct('!H')
_LENGTH_TABLE = struct.Struct('!HB')
_HH = struct.Struct('!HH')
_I = struct.Struct('!I')
_CACHE_MAX = 1 << 16


# --- match ---------------------------------------------------------------------------
def _field_table():
    """Full 32-bit OXM header -> (name, value size, masked, is_mac) of every
    non-experimenter field Ryu types as a plain IntDescr or MacAddr. The header includes
    the length, so a field of an unexpected size is not found and goes to Ryu."""
    table = {}
    for f in ofp.oxm_types:
        if isinstance(f.num, tuple):  # experimenter OXMs: left to Ryu
            continue
        if type(f.type) is type_desc.IntDescr:
            is_mac = False
        elif f.type is type_desc.MacAddr:
            is_mac = True
        else:
            continue
        size = f.type.size
        for masked in (False, True):
            header = (f.num << 9) | (masked << 8) | (2 * size if masked else size)
            table[header] = (f.name, size, masked, is_mac)
    return table


_FIELDS = _field_table()


class _Fields(list):
    """(name, value) pairs; ``decode.match`` reads them through ``items()``, as it reads
    a Ryu OFPMatch."""
    def items(self):
        return self


def _match_fields(buf, p, end, _header=_I.unpack_from, _spec=_FIELDS.get):
    """The (name, user value) pairs Ryu's OFPMatch.parser makes of the OXMs in buf[p:end]."""
    pairs = _Fields()
    while p < end:
        spec = _spec(_header(buf, p)[0])
        if spec is None:
            n, value, mask, flen = ofp.oxm_parse(buf, p)
            pairs.append(ofp.oxm_to_user(n, value, mask))
            p += flen
            continue
        name, size, masked, is_mac = spec
        v = p + 4
        if is_mac:  # Ryu prints MACs as lower-case xx:xx:xx:xx:xx:xx
            uv = buf[v:v + 6].hex(':')
            if masked:
                uv = (uv, buf[v + 6:v + 12].hex(':'))
        else:
            uv = int.from_bytes(buf[v:v + size], 'big')
            if masked:
                uv = (uv, int.from_bytes(buf[v + size:v + 2 * size], 'big'))
        pairs.append((name, uv))
        p = v + (2 * size if masked else size)
    if p != end:
        raise ValueError('malformed match: a field runs past its end')
    return pairs


# --- instructions --------------------------------------------------------------------
_ACTIONS = {}       # one action's bytes -> Ryu's parsed action (shared, only read)
_INSTRUCTIONS = {}  # an entry's instruction bytes -> our action tuple


def _ryu_action(key):
    action = _ACTIONS.get(key)
    if action is None:
        raw = bytes(key)
        action = ofpp.OFPAction.parser(raw, 0)
        if action.len != len(raw):  # Ryu would have walked on by another length
            raise ValueError('malformed action %s' % raw.hex())
        if len(_ACTIONS) >= _CACHE_MAX:
            _ACTIONS.clear()
        _ACTIONS[raw] = action
    return action


def _ryu_instructions(buf, p, end):
    """The instructions in buf[p:end] as decode._instructions expects them (Ryu objects),
    each action parsed by Ryu once per distinct byte string."""
    out = []
    while p < end:
        itype, ilen = _HH.unpack_from(buf, p)
        if ilen < 8 or p + ilen > end:
            raise ValueError('malformed instruction at %d (length %d)' % (p, ilen))
        if itype == ofp.OFPIT_APPLY_ACTIONS:
            actions, a = [], p + 8
            while a < p + ilen:
                alen = _HH.unpack_from(buf, a)[1]
                if alen < 8 or a + alen > p + ilen:
                    raise ValueError('malformed action at %d (length %d)' % (a, alen))
                actions.append(_ryu_action(buf[a:a + alen]))
                a += alen
            out.append(ofpp.OFPInstructionActions(itype, actions))
        else:
            inst = ofpp.OFPInstruction.parser(bytes(buf[p:p + ilen]), 0)
            if inst.len != ilen:
                raise ValueError('malformed instruction at %d (length %d)' % (p, ilen))
            out.append(inst)
        p += ilen
    return out


def _actions_of(buf, p, end):
    key = buf[p:end]
    acts = _INSTRUCTIONS.get(key)
    if acts is None:
        acts = decode._instructions(_ryu_instructions(buf, p, end))
        if len(_INSTRUCTIONS) >= _CACHE_MAX:
            _INSTRUCTIONS.clear()
        _INSTRUCTIONS[bytes(key)] = acts
    return acts


# --- entries -------------------------------------------------------------------------
_FLAGS = {}


def _flags(bits):
    names = _FLAGS.get(bits)
    if names is None:
        names = _FLAGS[bits] = tuple(name for bit, name in decode.FLAG_NAMES if bits & bit)
    return names


class FlowCache:
    """The flows of one switch decoded by earlier dumps, by their entry's bytes without
    the counters (durations, packets, bytes): an unchanged flow is decoded once, later
    dumps only unpack its counters. Call ``next_dump()`` before each dump; it keeps the
    flows of the last two dumps, so what left the switch is forgotten a dump later."""

    def __init__(self):
        self.previous, self.current = {}, {}

    def next_dump(self):
        self.previous, self.current = self.current, {}

    def __len__(self):
        return len(self.current)


def entry_key(buf, off, end):
    """An entry's bytes without its counters (COUNTER_RUNS, cut by hand here: a hot
    path): length and table, priority .. cookie, match and instructions. Equal keys,
    equal flows."""
    return buf[off:off + 4] + buf[off + 12:off + 32] + buf[off + 48:end]


def iter_flow_stats(body, cache=None, rows=None):
    """Our FlowStats for each ofp_flow_stats entry of an OFPMP_FLOW reply body (the bytes
    after the 16-byte multipart header), in order; equal to decode.flow_stats of Ryu's.
    ``cache``: an optional FlowCache of the switch the body came from. ``rows``: an
    optional ofp.rows_read.RowReader: an entry of one of its shapes is not decoded nor
    yielded, but its row bytes are added to ``rows.found``."""
    # One copy into bytes: slicing and int.from_bytes are faster on bytes than on views,
    # and a bytes slice is a cache key as it is.
    buf = body if type(body) is bytes else bytes(body)
    off, total = 0, len(buf)
    places = None if rows is None else rows.places
    join = b''.join
    while off < total:
        end = off + _LENGTH.unpack_from(buf, off)[0]
        if end - off < _MIN_ENTRY or end > total:
            raise ValueError('malformed flow stats entry at %d (length %d)' % (off, end - off))
        if places is not None:
            place = places.get((end - off, buf[off + 2]))
            if place is not None:
                hit = place[0](buf, off)
                if hit is not None:   # exactly a row's entry: its values, nothing decoded
                    place[1](join(hit.groups()))
                    off = end
                    continue
        flow = key = None
        if cache is not None:
            key = entry_key(buf, off, end)
            flow = cache.current.get(key) or cache.previous.get(key)
        (length, table, dsec, dnsec, priority, idle, hard, flags, cookie, packets,
         nbytes) = _ENTRY.unpack_from(buf, off)
        match_len = _HH.unpack_from(buf, off + 48)[1]
        inst = off + 48 + (match_len + 7) // 8 * 8
        if match_len < 4 or inst > end:
            raise ValueError('malformed flow stats entry at %d (length %d, match %d)'
                             % (off, length, match_len))
        if flow is None:
            try:
                flow = m.Flow(table=table, priority=priority,
                              match=decode.match(_match_fields(buf, off + 52,
                                                               off + 48 + match_len)),
                              actions=_actions_of(buf, inst, end), cookie=cookie,
                              idle_timeout=idle, hard_timeout=hard, flags=_flags(flags))
            except ValueError:
                raise
            except Exception as exc:  # Ryu's asserts/KeyErrors on what it cannot parse
                raise ValueError('undecodable flow stats entry at %d: %s: %s'
                                 % (off, type(exc).__name__, exc)) from exc
        if cache is not None:
            cache.current[key] = flow
        yield m.FlowStats(flow, dsec, dnsec, packets, nbytes)
        off = end


def table_counts(body):
    """{table: entries} of an OFPMP_FLOW reply body, from each entry's length and table
    alone: nothing decoded (counting 100k flows for /tables costs a walk, not a decode)."""
    buf = body if type(body) is bytes else bytes(body)
    off, total, counts = 0, len(buf), {}
    while off < total:
        length, table = _LENGTH_TABLE.unpack_from(buf, off)
        if length < _MIN_ENTRY or off + length > total:
            raise ValueError('malformed flow stats entry at %d (length %d)' % (off, length))
        counts[table] = counts.get(table, 0) + 1
        off += length
    return counts


# --- the hook into Ryu ---------------------------------------------------------------
class _WholeBody:
    """Stands in for OFPFlowStats as the reply's body class: takes the rest in one go."""
    def __init__(self, data):
        self.data = data
        self.length = len(data)

    @classmethod
    def parser(cls, buf, offset):
        return cls(memoryview(buf)[offset:])


class OFPFlowStatsReply(ofpp.OFPFlowStatsReply):
    """Ryu's flow-stats reply with the body left unparsed; same name, so Ryu still raises
    ``ofp_event.EventOFPFlowStatsReply`` for it, and a subclass, so ``isinstance`` checks
    (ryu.app.ofctl's reply_cls) still hold.

    In the handler: ``msg.raw_body`` is the body (a memoryview of the message: the
    entries after the multipart header), ``msg.flags`` / ``msg.xid`` as usual, and
    ``iter_flow_stats(msg.raw_body)`` yields our FlowStats. ``msg.body`` still works for
    other code (ryu.app.ofctl_rest, old handlers): on first access it parses the raw body
    with Ryu into the usual list of OFPFlowStats -- the slow path this hook avoids.
    """
    cls_stats_body_cls = _WholeBody

    @property
    def body(self):
        if self._ryu_body is None and self.raw_body is not None:
            self._ryu_body = ofpp.OFPFlowStatsReply.parser_stats_body(
                bytes(self.raw_body), len(self.raw_body), 0)
        return self._ryu_body

    @body.setter
    def body(self, value):
        # OFPMultipartReply.parser assigns [one _WholeBody] (or [] for an empty reply);
        # a body built by hand (a list of OFPFlowStats, or None) is kept as given.
        if value is not None and all(isinstance(v, _WholeBody) for v in value):
            data = value[0].data if value else memoryview(b'')
            # The message's own length bounds the body (the buffer may be longer).
            if self.msg_len is not None:
                data = data[:max(self.msg_len - ofp.OFP_MULTIPART_REPLY_SIZE, 0)]
            self.raw_body, self._ryu_body = data, None
        else:
            self.raw_body, self._ryu_body = None, value


_RYU_CLASS = ofpp.OFPFlowStatsReply  # the module attribute; install() only changes the map


def install():
    """From now on Ryu keeps OFPMP_FLOW reply bodies raw (``msg.raw_body``). Idempotent;
    other multipart types are untouched."""
    ofpp.OFPMultipartReply._STATS_MSG_TYPES[ofp.OFPMP_FLOW] = OFPFlowStatsReply


def uninstall():
    """Ryu's own parsing again (tests compare both paths)."""
    ofpp.OFPMultipartReply._STATS_MSG_TYPES[ofp.OFPMP_FLOW] = _RYU_CLASS


def installed():
    return ofpp.OFPMultipartReply._STATS_MSG_TYPES[ofp.OFPMP_FLOW] is OFPFlowStatsReply
