"""Many flows of one shape, held as rows: what l2population makes by the hundred thousand.

A node with 50k remote ports needs 50k table-20 entries and 50k ARP answers that differ
only in a few values (local VLAN, MAC, VNI, tunnel; local VLAN, IP, MAC). Building,
hashing and encoding a ``Flow`` object for each costs seconds; a row is a plain tuple of
those values. ``Shape.flow(row)`` is the exact Flow a row stands for, so whatever wants
Flows (tests, logs, the fake flow table) still gets them, while the sync's planner, the
encoder (``ofp.rows_wire``) and the read-back comparison work on the rows.

A row's first ``KEY_LEN`` values are its entry's match: two rows with the same key are the
same OVS entry (table, priority and match), and adding one replaces the other.
"""
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import FrozenSet, Mapping, Tuple

from .model import Flow


class Shape:
    """A family of flows: ``table``, ``priority`` and how a row becomes a Flow and back.

    Subclasses are frozen dataclasses (hashable: shapes key dicts) with ``name``,
    ``table``, ``priority`` and ``KEY_LEN`` as class attributes.
    """
    name = table = priority = None
    KEY_LEN = 2

    def flow(self, row):
        """The Flow ``row`` stands for."""
        raise NotImplementedError

    def key_of(self, flow):
        """The row key of ``flow``'s entry when it sits where this shape's flows do (same
        table and priority, a match of this shape's fields), else None."""
        raise NotImplementedError

    def row_of(self, flow):
        """The row whose flow equals ``flow`` exactly, or None."""
        raise NotImplementedError

    def key(self, row):
        return row[:self.KEY_LEN]


@dataclass(frozen=True)
class FlowRows:
    """Flows of one ``shape``, one per row, in the order built."""
    shape: Shape
    rows: Tuple[tuple, ...]

    def __len__(self):
        return len(self.rows)

    def flows(self):
        flow = self.shape.flow
        return [flow(row) for row in self.rows]


class FlowSeq(Sequence):
    """Plain flows and FlowRows read as one sequence of Flows: a row becomes its Flow only
    when it is read (``len`` costs nothing). Compares equal to any sequence of the same
    flows in the same order, so ``plan.add == ()`` reads as it says."""

    def __init__(self, flows=(), rows=()):
        self._flows, self._rows = tuple(flows), tuple(rows)

    def __len__(self):
        return len(self._flows) + sum(len(r) for r in self._rows)

    def __iter__(self):
        yield from self._flows
        for family in self._rows:
            flow = family.shape.flow
            for row in family.rows:
                yield flow(row)

    def __getitem__(self, index):
        return list(self)[index]

    def __eq__(self, other):
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return 'FlowSeq(%d flows)' % len(self)


class RowSets(Mapping):
    """{shape: frozenset of its rows} of FlowRows, each set made on first use: a no-op
    resync of 100k rows, whose rows were all recognised by their bytes, needs none."""

    def __init__(self, families):
        self._rows = {family.shape: family.rows for family in families}
        self._sets = {}

    def __getitem__(self, shape):
        rows = self._sets.get(shape)
        if rows is None:
            rows = self._sets[shape] = frozenset(self._rows[shape])
        return rows

    def __iter__(self):
        return iter(self._rows)

    def __len__(self):
        return len(self._rows)

    def among(self, shape, rows):
        """Those of ``rows`` (of ``shape``) listed here. When they are fewer and the
        shape's set is not made yet, the set is made of them instead (a drift check after a
        few adds needs no set of 100k rows)."""
        listed = self._rows.get(shape, ())
        if shape not in self._sets and len(rows) < len(listed):
            wanted = set(rows)
            return [row for row in listed if row in wanted]
        mine = self[shape] if shape in self._rows else ()
        return [row for row in rows if row in mine]


@dataclass(frozen=True)
class Desired:
    """What a sync leaves on the switch, compactly: plain flows and rows per shape.
    ``flow in desired`` asks whether a Flow (read back, say) is one of them; iterating
    gives every Flow."""
    flows: FrozenSet[Flow] = frozenset()
    rows: Mapping[Shape, FrozenSet[tuple]] = field(default_factory=dict)

    def __contains__(self, flow):
        if flow in self.flows:
            return True
        for shape, rows in self.rows.items():
            if flow.table == shape.table and flow.priority == shape.priority:
                row = shape.row_of(flow)
                if row is not None and row in rows:
                    return True
        return False

    def __iter__(self):
        """Every Flow, rows read as Flows (in no particular order)."""
        yield from self.flows
        for shape, rows in self.rows.items():
            yield from map(shape.flow, rows)

    def rows_among(self, shape, rows):
        """Those of ``rows`` (of ``shape``) this holds (RowSets.among)."""
        if isinstance(self.rows, RowSets):
            return self.rows.among(shape, rows)
        mine = self.rows.get(shape, ())
        return [row for row in rows if row in mine]

    def __len__(self):
        return len(self.flows) + sum(len(r) for r in self.rows.values())


def split(desired):
    """(plain flows, FlowRows) of a pipeline listing that may hold both."""
    flows, families = [], []
    for item in desired:
        (families if isinstance(item, FlowRows) else flows).append(item)
    return flows, families


def expand(desired):
    """Every Flow of a listing that may hold FlowRows, in order."""
    out = []
    for item in desired:
        if isinstance(item, FlowRows):
            out.extend(item.flows())
        else:
            out.append(item)
    return out
