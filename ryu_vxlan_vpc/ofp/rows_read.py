"""Our bulk rows read back from a switch by their bytes, none decoded.

A flow-stats entry of one of the bulk shapes (pipeline.populated) is a template: constant
runs (length, table, priority, cookie, the match's and the actions' headers), counters
(durations, packets, bytes: ignored), and the row's values where the shape puts them (MAC,
VLAN id, VNI, ofport; for an ARP answer the IP and the MAC, twice each). So:

- ``RowReader`` (the read): an entry whose constant runs are a shape's is cut down to its
  *row bytes*, its value runs joined, and appended to the shape's buffer; it is not
  decoded. One compiled regular expression per shape checks and cuts in C, as the replies
  arrive.
- ``row_bytes`` (the pipeline): the same bytes packed from each wanted row; ``None`` for a
  row not canonically spelt, which decoded would not give the row back (an upper-case MAC,
  a VLAN id over 12 bits, an IP with leading zeros): such a row is never found, and the
  planner compares its entry as a Flow.
- ``resolve``: the wanted rows found (the planner's ``matched``), and the entries found
  that no row wants, rebuilt from the template and decoded as any other flow read back.

The templates are OVS's encoding (rows_wire.reported_entry) of two sample rows of each shape:
the bytes that differ between them are the value runs. The packers are checked against a
third sample at import; tests/unit/test_ofp_rows_read.py checks random rows and
tests/integration/test_ofp_raw_real_ovs.py what a real OVS sends.

Why not the wanted rows' whole entries as keys (how this began): they had to exist before
the read, about 300 bytes each (29 MiB at 100k rows), and the replies queued up meanwhile
(28 MiB). Row bytes are 20 and 22 bytes, and each reply is cut down as it arrives.
"""
import re
import socket
import struct

from ..pipeline.populated import ArpAnswer, UcastPopulated, per_shape
from . import flowstats_raw, rows_wire, wire

_COUNTERS = {i for start, end in flowstats_raw.COUNTER_RUNS for i in range(start, end)}


# --- packing a wanted row's values ---------------------------------------------------
def _vid(vlan):
    if type(vlan) is not int or not 0 <= vlan <= 0xfff:
        raise ValueError('VLAN %r is not a 12-bit id' % (vlan,))
    return wire.OFPVID_PRESENT | vlan


def _mac(text):
    packed = bytes.fromhex(text.replace(':', ''))
    if len(packed) != 6 or packed.hex(':') != text:   # OVS's spelling only
        raise ValueError('MAC %r is not spelt xx:xx:xx:xx:xx:xx in lower case' % (text,))
    return packed


def _ip(text):
    packed = socket.inet_aton(text)
    if socket.inet_ntoa(packed) != text:
        raise ValueError('IP %r is not a plain dotted quad' % (text,))
    return packed


def _int(value):
    if type(value) is not int:
        raise ValueError('%r is not an int' % (value,))
    return value


_UCAST = struct.Struct('!6sHQI')      # eth_dst, vlan_vid, tunnel_id, output port
_ARP = struct.Struct('!H4s6s4s6s')    # vlan_vid, arp_tpa, arp_sha, arp_spa, eth_src


def _ucast_bytes(row, _pack=_UCAST.pack):
    vlan, mac, vni, ofport = row
    return _pack(_mac(mac), _vid(vlan), _int(vni), _int(ofport))


def _arp_bytes(row, _pack=_ARP.pack):
    vlan, ip, mac = row
    ip, mac = _ip(ip), _mac(mac)
    return _pack(_vid(vlan), ip, mac, ip, mac)


# --- the templates -------------------------------------------------------------------
class _Layout:
    """One shape's entry as constant runs and value runs (from two sample rows whose
    values differ in every byte), with ``pack(row)`` giving the value runs' bytes."""

    def __init__(self, shape, samples, check, pack):
        a, b = (rows_wire.reported_entry(shape.flow(row)) for row in samples)
        if len(a) != len(b):
            raise AssertionError('%s entries differ in length by row' % shape.name)
        kinds = ['skip' if i in _COUNTERS else 'value' if a[i] != b[i] else 'const'
                 for i in range(len(a))]
        runs, start = [], 0
        for i in range(1, len(a) + 1):
            if i == len(a) or kinds[i] != kinds[start]:
                runs.append((kinds[start], start, i))
                start = i
        self.shape, self.pack, self.template = shape, pack, a
        self.length = len(a)
        self.values = [(s, e) for kind, s, e in runs if kind == 'value']
        self.width = sum(e - s for s, e in self.values)   # of a row's bytes
        self.match = re.compile(b''.join(
            re.escape(a[s:e]) if kind == 'const' else
            b'.{%d}' % (e - s) if kind == 'skip' else b'(.{%d})' % (e - s)
            for kind, s, e in runs), re.DOTALL).match
        for row in samples + (check,):   # the packer puts each value where OVS does
            if pack(row) != self.cut(rows_wire.reported_entry(shape.flow(row))):
                raise AssertionError('%s: row bytes are not where the entry has them'
                                     % shape.name)

    def cut(self, entry):
        return b''.join(entry[s:e] for s, e in self.values)

    def entry(self, row_bytes):
        """The entry (counters zero) whose value runs are ``row_bytes``."""
        parts, at, last = [], 0, 0
        for s, e in self.values:
            parts += [self.template[last:s], row_bytes[at:at + e - s]]
            at, last = at + e - s, e
        parts.append(self.template[last:])
        return b''.join(parts)


_LAYOUTS = {
    UcastPopulated: lambda shape: _Layout(
        shape, ((0x111, '11:11:11:11:11:11', 0x1111111111111111, 0x11111111),
                (0x222, '22:22:22:22:22:22', 0x2222222222222222, 0x22222222)),
        (0xabc, 'fa:16:3e:a1:b2:c3', 0x0102030405060708, 0x0a0b0c0d), _ucast_bytes),
    ArpAnswer: lambda shape: _Layout(
        shape, ((0x111, '17.17.17.17', '11:11:11:11:11:11'),
                (0x222, '34.34.34.34', '22:22:22:22:22:22')),
        (0xabc, '10.201.202.203', 'fa:16:3e:a1:b2:c3'), _arp_bytes),
}
_BY_SHAPE = {}


def layout(shape):
    return per_shape(_LAYOUTS, _BY_SHAPE, shape, 'row layout')


# --- public --------------------------------------------------------------------------
def shapes(cookie):
    """The bulk shapes a pipeline with ``cookie`` can hold (what a sync's read looks for,
    whether or not l2population and the ARP responder are on)."""
    return (UcastPopulated(cookie), ArpAnswer(cookie))


def row_bytes(shape, rows):
    """[the row bytes of each row, or None for a row not canonically spelt]."""
    pack, out = layout(shape).pack, []
    for row in rows:
        try:
            out.append(pack(row))
        except (ValueError, TypeError, AttributeError, OSError, struct.error):
            out.append(None)
    return out


class RowReader:
    """Collects the entries of ``shapes`` out of flow-stats reply bodies by their bytes
    (flowstats_raw.iter_flow_stats calls ``places``): ``found[shape]`` is a bytearray of
    the row bytes read, one after the other (each shape's are of one width). Not a set of
    100k small bytes objects: they cost three times the bytes, and strewn among the
    pipeline's rows, built meanwhile, kept their memory from going back to the system."""

    def __init__(self, shapes_):
        self.found = {}
        self.places = {}   # (entry length, table) -> (the layout's match, found[shape].extend)
        for shape in shapes_:
            lay = layout(shape)
            place = (lay.length, shape.table)
            if place in self.places:
                raise ValueError('two row shapes in one place: %r' % (place,))
            found = self.found[shape] = bytearray()
            self.places[place] = (lay.match, found.extend)

    def __len__(self):
        return sum(len(found) // layout(shape).width for shape, found in self.found.items())

    def found_bytes(self, shape):
        """The row bytes of ``shape`` read so far, one bytes each (for tests and logs)."""
        return set(_records(bytes(self.found.get(shape, b'')), layout(shape).width))


def _records(data, width):
    return (data[at:at + width] for at in range(0, len(data), width))


def resolve(reader, families, wanted):
    """``families``: the wanted FlowRows; ``wanted``: {shape: row_bytes(shape, its rows)}.
    Returns ({shape: the wanted rows found}, [the Flows of the entries found that no
    row wants]). Takes ``reader.found`` and ``wanted`` apart, shape by shape, so that
    their bytes go as soon as they are done with (100k rows: MiBs each)."""
    matched, entries, rows = {}, [], {f.shape: f.rows for f in families}
    for shape in list(reader.found):
        data, packed = bytes(reader.found.pop(shape)), wanted.pop(shape, ())
        by_bytes = {b: row for b, row in zip(packed, rows.get(shape, ())) if b is not None}
        del packed
        present, lay = set(), layout(shape)
        for found in _records(data, lay.width):
            row = by_bytes.get(found)
            if row is None:
                entries.append(lay.entry(found))
            else:
                present.add(row)
        del data, by_bytes
        if shape in rows:
            matched[shape] = present
    for shape in rows:   # wanted, none found: no reader of that shape
        matched.setdefault(shape, set())
    return matched, [s.flow for s in flowstats_raw.iter_flow_stats(b''.join(entries))]
