"""A sync's flow changes as buffers of bytes: counted, cut into chunks, encoded.

``send`` hands each chunk to the datapath in one ``send`` (then lets other green threads
run). An ``AddRows`` (flows.mods) is one flow change per row and is cut where a chunk
fills up. Bytes come from ``rows_wire`` for rows and ``wire`` for the other changes, with
Ryu's own objects (``encode.flow_mod``) for what wire does not encode. No I/O here.
"""
import itertools

from ..flows.mods import AddRows
from . import encode, rows_wire, wire


def bundle_flags(ofp):
    """Atomic (all or nothing) and ordered (as sent: adds before deletes)."""
    return ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED


def count(mods):
    """Flow changes in ``mods``: an AddRows makes one per row."""
    return sum(len(mod) if isinstance(mod, AddRows) else 1 for mod in mods)


def chunks(mods, size):
    """``mods`` cut into lists of ``size`` flow changes (the last may have fewer)."""
    part, room = [], size
    for mod in mods:
        pieces = (mod,)
        if isinstance(mod, AddRows):
            start, pieces = 0, []
            while start < len(mod.rows):
                take = room if not pieces else size
                pieces.append(AddRows(mod.shape, mod.rows[start:start + take]))
                start += take
        for piece in pieces:
            part.append(piece)
            room -= count([piece])
            if room <= 0:
                yield part
                part, room = [], size
    if part:
        yield part


def encoded(datapath, mods, bundle, xids):
    """The bytes of ``mods`` (bundle-add messages when ``bundle``), one xid per flow
    change, in order. ``datapath``: anything with Ryu's ``ofproto``/``ofproto_parser``."""
    flags = bundle_flags(datapath.ofproto)
    out, at = [], 0
    for rows, run in itertools.groupby(mods, key=lambda mod: isinstance(mod, AddRows)):
        for changes in ([mod] for mod in run) if rows else [list(run)]:
            n = count(changes)
            ids, at = xids[at:at + n], at + n
            if rows:
                try:
                    out.append(rows_wire.add_bytes(changes[0].shape, changes[0].rows, ids,
                                                   bundle, flags))
                    continue
                except ValueError:  # a row it does not pack: its flows one by one
                    changes = changes[0].flows()
            out.append(_encoded_mods(datapath, changes, bundle, ids, flags))
    return b''.join(out)


def _encoded_mods(datapath, mods, bundle, xids, flags):
    """The bytes of plain flow changes (flows.mods), one xid each."""
    try:
        if bundle is not None:
            return wire.bundle_bytes(mods, bundle, flags, xids)
        return wire.flow_mods_bytes(mods, xids)
    except ValueError:
        pass  # something wire does not encode: each change on its own, Ryu for those
    out = []
    for mod, xid in zip(mods, xids):
        try:
            inner = wire.flow_mod_bytes(mod, xid)
        except ValueError:
            msg = encode.flow_mod(datapath, mod)
            msg.xid = xid
            msg.serialize()
            inner = bytes(msg.buf)
        out.append(inner if bundle is None else
                   wire.bundle_add_bytes(bundle, flags, inner, xid))
    return b''.join(out)


class XidRanges:
    """The xids of the flow changes in flight, as runs of consecutive ones (next_xids
    hands out runs): ``in`` asks about one. Not a set: 100k ints would take 7 MiB."""

    def __init__(self, max_xid):
        self.mask, self.runs = max_xid, []

    def add(self, xids):
        """A run of consecutive xids (modulo the xid space), as next_xids returns them."""
        if xids:
            self.runs.append((xids[0], len(xids)))

    def __contains__(self, xid):
        return any((xid - first) & self.mask < count for first, count in self.runs)
