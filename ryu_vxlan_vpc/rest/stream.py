"""Streamed REST bodies: flows and MAC entries rendered part by part as the switch's
flow-stats replies arrive, never one whole body in memory (100k flows: 15 MiB of text,
65 MiB of JSON, and the FlowStats behind them).

Each function takes ``dumps``: (switch, parts) pairs, where ``parts`` iterates lists of
FlowStats (``app.stream_flows``), and yields bytes. JSON answers are one object whose list
holds one item per line; the totals come last, once known. An error after the first byte
cannot change the status any more: the generator raises, the server closes the connection
without ending the chunked body, and every HTTP client reports an incomplete answer (never
a short one that looks whole).
"""
import functools
import json

from ..flows import text
from ..model import names_by_ofport
from . import views
from .params import dpid_text
from .templates import Templates


def text_writer(switch):
    """What writes ``switch``'s reply parts as flows_text's lines (app.stream_flows'
    ``write``): from templates where it can (templates.py)."""
    return Templates(_text_line)


def json_writer(switch):
    """What writes ``switch``'s reply parts as flows_json's items."""
    return Templates(functools.partial(_flow_item, _STR(dpid_text(switch.dpid))))


def flows_text(dumps, many):
    """ovs-ofctl dump-flows' listing; with ``many`` switches a ``dpid=...:`` line before each.
    ``dumps``: (switch, parts), each part a list of lines written by ``text_writer``."""
    for switch, parts in dumps:
        if many:
            yield ('dpid=%s:\n' % dpid_text(switch.dpid)).encode()
        for part in parts:
            yield ''.join(part).encode()


def flows_json(dumps):
    """{"flows": [flow_view, ...], "count": N}. ``dumps``: (switch, parts), each part a
    list of items written by ``json_writer``."""
    count = 0
    yield b'{"flows": ['
    for switch, parts in dumps:
        for items in parts:
            if not items:
                continue
            yield ((',' if count else '') + ','.join(items)).encode()
            count += len(items)
    yield ('\n], "count": %d}\n' % count).encode()


def macs_writer(settings):
    """What makes, per switch, the writer of its reply parts as macs_json's items."""
    def writer(switch):
        return Templates(functools.partial(_mac_item, settings, names_by_ofport(switch.ports),
                                           dpid_text(switch.dpid)))
    return writer


def macs_json(dumps):
    """{"macs": [mac entry, ...], "count": N}: the MAC entries among table 20's flows
    (learned and populated). ``dumps``: (switch, parts), each part a list of items written
    by ``macs_writer``'s writer."""
    count = 0
    yield b'{"macs": ['
    for switch, parts in dumps:
        for items in parts:
            if items:
                yield ((',' if count else '') + ','.join(items)).encode()
                count += len(items)
    yield ('\n], "count": %d}\n' % count).encode()


_ENCODE = json.JSONEncoder(sort_keys=True).encode
_STR = json.encoder.encode_basestring_ascii   # a str as that encoder writes it


def _line(obj):
    return '\n ' + _ENCODE(obj)


def _text_line(stats, marks=None):
    """One line of flows_text: ' ' + the dump-flows line + newline (``marks``: see
    templates.MARKS)."""
    return ' %s\n' % text.render_stats(stats, counters=marks and (
        marks['duration'], marks['n_packets'], marks['n_bytes']))


def _mac_item(settings, by_ofport, dpid, stats, marks=None):
    """'\n ' + the JSON of the flow's MAC entry (views.mac_entry, with its dpid), or None
    if the flow is none. With ``marks`` (templates.MARKS) its counters are those, unquoted."""
    mac = views.mac_entry(stats, settings, by_ofport)
    if mac is None:
        return None
    mac['dpid'] = dpid
    if marks is None:
        return _line(mac)
    mac['n_packets'] = marks['n_packets']
    if mac['seconds_left_min'] is not None:
        mac['seconds_left_min'] = marks['seconds_left']
    out = _line(mac)
    for mark in (marks['n_packets'], marks['seconds_left']):
        out = out.replace('"%s"' % mark, mark)
    return out


# views.flow_view's JSON (keys sorted), written without building the dict: at 100k flows
# the dicts and their encoding were most of the answer's time. test_rest_stream.py checks
# it equals _line(flow_view(...)) character for character.
_FLOW_ITEM = ('\n {"actions": %s, "cookie": "0x%x", "dpid": %s, "duration": %s, '
              '"duration_sec": %s, "flags": %s, "hard_timeout": %d, "idle_timeout": %d, '
              '"match": %s, "n_bytes": %s, "n_packets": %s, "priority": %d, "table": %d, '
              '"text": %s}')
_LISTS = {}   # an action or flag tuple -> its JSON list (a few thousand distinct ones)


def _json_list(items, empty=()):
    try:
        return _LISTS[items, empty]
    except KeyError:
        if len(_LISTS) >= 1 << 16:
            _LISTS.clear()
        out = _LISTS[items, empty] = _ENCODE(list(items or empty))
        return out


def json_counters(duration, duration_sec, n_packets, n_bytes):
    """How a JSON flow item writes the counters: (duration, duration_sec, n_packets,
    n_bytes)."""
    return repr(round(duration, 3)), '%d' % duration_sec, '%d' % n_packets, '%d' % n_bytes


def _flow_item(dpid, stats, marks=None):
    """'\n ' + the JSON of views.flow_view(dpid, stats); ``dpid`` as a JSON string.
    ``marks``: what to write instead of the counters, in the item and its text line
    (templates.MARKS)."""
    flow = stats.flow
    fields = text.match_fields(flow.match, flow.priority)
    actions = text.action_texts(flow.actions)
    if marks is None:
        duration, duration_sec, n_packets, n_bytes = json_counters(
            stats.duration, stats.duration_sec, stats.n_packets, stats.n_bytes)
        text_counters = None
    else:
        duration, duration_sec, n_packets, n_bytes = (
            marks['duration_json'], marks['duration_sec'], marks['n_packets'], marks['n_bytes'])
        text_counters = (marks['duration'], marks['n_packets'], marks['n_bytes'])
    return _FLOW_ITEM % (
        _json_list(actions, ('drop',)), flow.cookie, dpid, duration, duration_sec,
        _json_list(flow.flags), flow.hard_timeout, flow.idle_timeout, _match_json(fields),
        n_bytes, n_packets, flow.priority, flow.table,
        _STR(text.render_stats(stats, fields=fields, actions=actions,
                               counters=text_counters)))


_MATCH_LAYOUTS = {}   # field names in printing order -> (sorted positions, JSON format)


def _match_json(fields):
    """The JSON of views.match_view (keys sorted; a bare protocol word is true), from a
    format kept per list of field names (a dump has a handful)."""
    names = tuple(name for name, _ in fields)
    layout = _MATCH_LAYOUTS.get(names)
    if layout is None:
        if len(_MATCH_LAYOUTS) >= 1 << 12:
            _MATCH_LAYOUTS.clear()
        # Later fields win over earlier ones of the same name, as in the dict.
        kept = {name: i for i, name in enumerate(names) if name != 'priority'}
        order = sorted(kept)
        layout = _MATCH_LAYOUTS[names] = (
            tuple(kept[name] for name in order),
            '{' + ', '.join(_STR(name).replace('%', '%%') + ': %s' for name in order) + '}')
    positions, fmt = layout
    return fmt % tuple('true' if fields[i][1] is None else _STR(fields[i][1])
                       for i in positions)
