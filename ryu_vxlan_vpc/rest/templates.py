"""Flow-stats entries written from templates: the text lines and JSON items of /flows and
the MAC entries of /macs, character for character as the generic path writes them, without decoding each entry.

A table holds thousands of flows that differ only in MAC addresses and counters: learned
MACs (table 20: one per VLAN, tunnel and VNI otherwise alike), l2population's entries. Two
entries have the same *skeleton* when they are equal but for their counters (durations,
packets, bytes) and the values of their unmasked eth_src/eth_dst match fields.

The second time a skeleton is seen, that entry is decoded and written by the generic path
(``item(stats)``) once more with placeholders for its MACs and counters, and the output is
cut at them: the template. Every later entry of the skeleton is matched by one compiled
regular expression (constant bytes checked, MACs captured, counters skipped) and its line
filled in; nothing is decoded. A template is kept only when its placeholders come out
exactly where expected and, filled with the entry's own values, it gives the generic output
for that entry; any other skeleton (and every entry seen once) takes the generic path.

Why this is exact: the generic path prints a MAC field as the decoder spells it
(lower-case hex, ``bytes.hex(':')``, done here the same way) and formats counters only
through ``text.counter_texts`` and ``stream.json_counters``; ``_Template.fill`` formats
them as those do, and a template that did not would be refused when made (it must give
back the generic output). tests/unit/test_rest_templates.py compares both paths on every
kind of flow.
"""
import dataclasses
import operator
import re
import struct

from ryu.ofproto import ofproto_v1_3 as ofp

from ..flows import model as m
from ..ofp import flowstats_raw

_COUNTERS = flowstats_raw.COUNTERS
_MATCH_HEAD = struct.Struct('!HH')         # ofp_match type, length
_OXM = struct.Struct('!I')
_MAC_FIELDS = {ofp.OXM_OF_ETH_DST: 'dl_dst', ofp.OXM_OF_ETH_SRC: 'dl_src'}   # unmasked
_SKIPPED = flowstats_raw.COUNTER_RUNS
_PLACEHOLDER = re.compile(r'~(D|J|S|P|B|L|M\d)~')
# What an item writes in place of each counter when a template is made (``item(stats,
# MARKS)``): the duration as dump-flows prints it and as JSON does, the duration's whole
# seconds, the packet and byte counts, and a flow's least time left (hard timeout less
# its age, at least 0).
MARKS = {'duration': '~D~', 'duration_json': '~J~', 'duration_sec': '~S~',
         'n_packets': '~P~', 'n_bytes': '~B~', 'seconds_left': '~L~'}
_MAX = 1 << 12                             # skeletons kept (and first sightings)


def _macs(buf, off, end):
    """[(offset of the value, Match attribute)] of the entry's unmasked MAC fields, or
    None when the match cannot be walked (the generic path then reports the problem)."""
    p = off + 48
    if end - p < 4:
        return None
    mtype, mlen = _MATCH_HEAD.unpack_from(buf, p)
    stop = p + mlen
    if mtype != ofp.OFPMT_OXM or mlen < 4 or stop > end:
        return None
    p += 4
    found = []
    while p + 4 <= stop:
        header = _OXM.unpack_from(buf, p)[0]
        name = _MAC_FIELDS.get(header)
        if name is not None:
            found.append((p + 4, name))
        p += 4 + (header & 0xff)
    if p != stop or len({name for _, name in found}) != len(found):
        return None
    return found


class Templates:
    """Writes the entries of reply bodies through ``item(stats, marks=None)`` (stream's
    items: a flow's JSON, its text line, a MAC entry), from templates where it can; an
    item of None (an entry that is no MAC entry, say) is left out. With ``marks``
    (``MARKS``) an item writes those in place of the counters. One per answer and switch:
    it keeps at most ``_MAX`` skeletons."""

    def __init__(self, item):
        self.item = item
        self.skeletons = {}   # skeleton key -> _Template, or None: written generically
        self.seen = set()     # hashes of skeleton keys seen once
        self.last = None
        self.filled = 0       # entries written from a template

    def write(self, part):
        """The items of a reply part: its raw body (the bytes after the multipart header),
        or a list of FlowStats (decoded elsewhere: written generically)."""
        if isinstance(part, list):
            return self._generic(part)
        buf = part if type(part) is bytes else bytes(part)
        out, off, total, last = [], 0, len(buf), self.last
        while off < total:
            end = off + struct.unpack_from('!H', buf, off)[0]
            if end - off < 56 or end > total:   # the generic path says what is wrong
                out += self._generic(flowstats_raw.iter_flow_stats(buf[off:]))
                break
            hit = None if last is None or last.length != end - off else last.match(buf, off)
            if hit is None:
                last = self._template(buf, off, end)
                hit = None if last is None else last.match(buf, off)
            if hit is None:
                out += self._generic(flowstats_raw.iter_flow_stats(buf[off:end]))
            else:
                item = last.fill(hit.groups(), _COUNTERS.unpack_from(buf, off))
                if item is not None:
                    out.append(item)
                self.filled += 1
            off = end
        self.last = last
        return out

    def _generic(self, stats):
        items = (self.item(s) for s in stats)
        return [item for item in items if item is not None]

    def _template(self, buf, off, end):
        macs = _macs(buf, off, end)
        if macs is None:
            return None
        cut = sorted(_SKIPPED + tuple((at - off, at - off + 6) for at, _ in macs))
        key, prev = [], 0
        for start, stop in cut:
            key.append(buf[off + prev:off + start])
            prev = stop
        key.append(buf[off + prev:end])
        key = b'\0'.join(key)
        if key in self.skeletons:
            return self.skeletons[key]
        if hash(key) not in self.seen:   # written generically until it comes again
            if len(self.seen) >= _MAX:
                self.seen.clear()
            self.seen.add(hash(key))
            return None
        if len(self.skeletons) >= _MAX:
            self.skeletons.clear()
        found = self.skeletons[key] = _Template.of(self.item, buf[off:end], macs, cut)
        return found


class _Template:
    _AT = {'D': 0, 'J': 1, 'S': 2, 'P': 3, 'B': 4, 'L': 5}   # M<i> is at 6 + i

    def __init__(self, length, match, fmt, slots, hard_timeout):
        """``fmt`` None: the skeleton's entries have no item."""
        self.length, self.match, self.fmt, self.hard = length, match, fmt, hard_timeout
        at = [self._AT[slot] if slot in self._AT else 6 + int(slot[1:]) for slot in slots]
        self.pick = (lambda values: ()) if not at else (
            (lambda values, i=at[0]: (values[i],)) if len(at) == 1 else operator.itemgetter(*at))
        self.text, self.json, self.left = 'D' in slots, 'J' in slots, 'L' in slots

    def fill(self, macs, counters):
        if self.fmt is None:
            return None
        dsec, dnsec, n_packets, n_bytes = counters
        duration = dsec + dnsec / 1e9   # as FlowStats.duration
        values = ['%.3f' % duration if self.text else '',
                  repr(round(duration, 3)) if self.json else '',
                  '%d' % dsec, '%d' % n_packets, '%d' % n_bytes,
                  '%d' % max(0, self.hard - dsec) if self.left else '']
        values += [mac.hex(':') for mac in macs]
        return self.fmt % self.pick(values)

    @classmethod
    def of(cls, item, entry, macs, cut):
        """The template of ``entry``'s skeleton, or None if the generic output does not
        come apart at the placeholders as it must."""
        [stats] = flowstats_raw.iter_flow_stats(entry)
        flow = stats.flow
        marked = m.FlowStats(dataclasses.replace(flow, match=dataclasses.replace(
            flow.match, **{name: '~M%d~' % i for i, (_, name) in enumerate(macs)})))
        out = item(marked, MARKS)
        if out is None:   # no item for this skeleton's entries (as long as the generic agrees)
            fmt, slots = None, ()
        else:
            pieces = _PLACEHOLDER.split(out)
            texts, slots = pieces[0::2], pieces[1::2]
            if any('~' in t for t in texts):   # a placeholder came out changed, or '~' is real
                return None
            fmt = '%s'.join(t.replace('%', '%%') for t in texts)
        pattern, prev = [], 0
        for start, stop in cut:
            pattern.append(re.escape(entry[prev:start]))
            pattern.append(b'.{%d}' % (stop - start) if (start, stop) in _SKIPPED else b'(.{6})')
            prev = stop
        pattern.append(re.escape(entry[prev:]))
        template = cls(len(entry), re.compile(b''.join(pattern), re.DOTALL).match, fmt,
                       tuple(slots), flow.hard_timeout)
        hit = template.match(entry)
        if hit is None or template.fill(hit.groups(),
                                        _COUNTERS.unpack_from(entry)) != item(stats):
            return None
        return template
