"""Numbers in REST queries and CLI options, parsed one way everywhere (api, client).

A dpid is 16 hex digits (as the API prints it), 0x-prefixed hex, or decimal. A value of
exactly 16 hex digits is always hex: ``0000000000000010`` is 16, not ten. Other numbers
(table, cookie) are decimal or 0x-hex. Nothing else that int() would take passes: no sign,
spaces or '_', so a typo is refused instead of becoming another query.
"""
import re

DPID_MAX = (1 << 64) - 1
DPID_FORMATS = '16 hex digits, 0x-prefixed hex or decimal, at most 2^64-1'

_NUMBER_RE = re.compile(r'[0-9]+|0x[0-9a-f]+')
_DPID16_RE = re.compile(r'[0-9a-f]{16}')


def dpid_text(dpid):
    return '%016x' % dpid


def parse_number(value):
    """Decimal or 0x-hex, nothing else."""
    value = value.lower()
    # The length check comes first: int() refuses over 4300 decimal digits anyway, and
    # a 64-bit value never needs more than 20 digits.
    if len(value) > 40 or not _NUMBER_RE.fullmatch(value):
        raise ValueError(value)
    return int(value, 16) if value.startswith('0x') else int(value, 10)


def parse_dpid(value):
    """A datapath id in any of DPID_FORMATS; ValueError otherwise."""
    if _DPID16_RE.fullmatch(value.lower()):
        return int(value, 16)
    dpid = parse_number(value)
    if dpid > DPID_MAX:
        raise ValueError(value)
    return dpid
