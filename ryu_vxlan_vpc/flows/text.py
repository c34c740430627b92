"""Flows as text, in the syntax of ``ovs-ofctl dump-flows``: the project's one text format.

Tests, REST, CLI and logs all print flows through ``render``. Two dialects exist because
OVS prints the same entry differently per protocol:

- ``ofctl`` (default): what plain ``ovs-ofctl dump-flows`` prints (OpenFlow 1.0 + NXM),
  the article's syntax: ``mod_vlan_vid:12``, ``strip_vlan``, ``set_tunnel:0x22``.
- ``of13``: what ``ovs-ofctl -O OpenFlow13 dump-flows`` prints: ``push_vlan:0x8100,
  set_field:4108->vlan_vid``, ``pop_vlan``, ``set_field:0x22->tun_id``, plus flow flags.

Without stats a flow prints as ``cookie=0x79, table=0, priority=1,in_port=1
actions=resubmit(,2)``: a full dump-flows line with its counters taken out, which is
exactly what ``strip_stats`` makes of a line printed by OVS.
"""
import re

from . import model as m

DIALECTS = ('ofctl', 'of13')

# OpenFlow 1.3 reserved ports, as ovs-ofctl names them.
RESERVED_PORTS = {
    0xfffffff8: 'IN_PORT', 0xfffffff9: 'TABLE', 0xfffffffa: 'NORMAL',
    0xfffffffb: 'FLOOD', 0xfffffffc: 'ALL', 0xfffffffe: 'LOCAL', 0xffffffff: 'ANY',
}


# OXM fields other tools may match on (Match.other): ovs-ofctl's name and number style.
OTHER_MATCH_FIELDS = {
    'eth_type': ('dl_type', lambda v: '0x%04x' % v),
    'ip_proto': ('nw_proto', str),
    'ipv4_src': ('nw_src', str), 'ipv4_dst': ('nw_dst', str),
    'ipv6_src': ('ipv6_src', str), 'ipv6_dst': ('ipv6_dst', str),
    'arp_spa': ('arp_spa', str), 'arp_tpa': ('arp_tpa', str), 'arp_op': ('arp_op', str),
    'tcp_src': ('tp_src', str), 'tcp_dst': ('tp_dst', str),
    'udp_src': ('tp_src', str), 'udp_dst': ('tp_dst', str),
    'metadata': ('metadata', lambda v: '%#x' % v),
}
OTHER_MATCH_FIELDS.update(('reg%d' % i, ('reg%d' % i, lambda v: '%#x' % v)) for i in range(16))


def c_hex(value):
    """C's ``%#x``, which OVS uses: 0 prints as ``0``, 34 as ``0x22``."""
    return '0x%x' % value if value else '0'


def field_ref(ref):
    width = m.FIELD_WIDTHS.get(ref.name)
    if ref.ofs == 0 and ref.n_bits == width:
        return '%s[]' % ref.name
    if ref.n_bits == 1:
        return '%s[%d]' % (ref.name, ref.ofs)
    return '%s[%d..%d]' % (ref.name, ref.ofs, ref.ofs + ref.n_bits - 1)


def _masked(value, fmt):
    if isinstance(value, (tuple, list)):
        return '%s/%s' % (fmt(value[0]), fmt(value[1]))
    return fmt(value)


def _mac(value):
    return value if isinstance(value, str) else '%s/%s' % value


def _port(value):
    return str(RESERVED_PORTS.get(value, value))


_IPV4_FIELDS = ('ipv4_src', 'ipv4_dst', 'arp_spa', 'arp_tpa')


def _ipv4_masked(value):
    """OVS prints a contiguous IPv4 mask as a prefix length: 10.0.0.0/8."""
    addr, mask = value
    bits = _ip_int(mask)
    prefix = bin(bits).count('1')
    if bits == (0xffffffff << (32 - prefix)) & 0xffffffff:
        return '%s/%d' % (addr, prefix)
    return '%s/%s' % (addr, mask)


def _other_field(name, value):
    """A field our model does not name, in ovs-ofctl's name and number style."""
    ofctl, fmt = OTHER_MATCH_FIELDS.get(name, (name, str))
    if name in _IPV4_FIELDS and isinstance(value, (tuple, list)):
        return ofctl, _ipv4_masked(value)
    return ofctl, _masked(value, fmt)


# ovs-ofctl prints a match on these Ethernet types (and IP protocols) as one word.
PROTOCOL_WORDS = {0x0800: 'ip', 0x0806: 'arp', 0x8035: 'rarp', 0x86dd: 'ipv6'}
IP_PROTOCOL_WORDS = {1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp'}


def _protocol(match):
    """(word or None, other fields left to print): ``arp``, ``ip``, ``tcp`` ... as OVS."""
    other = match.other
    if match.eth_type is None:
        return None, other
    word = PROTOCOL_WORDS.get(match.eth_type)
    if word is None:
        return 'dl_type=0x%04x' % match.eth_type, other
    proto = dict(other).get('ip_proto')
    if word == 'ip' and proto in IP_PROTOCOL_WORDS:
        return IP_PROTOCOL_WORDS[proto], tuple(kv for kv in other if kv[0] != 'ip_proto')
    return word, other


def match_fields(match, priority):
    """[(field, printed value)] in ovs-ofctl's order; priority first unless default, then
    the protocol word (a pair with value None prints as the bare word)."""
    parts = []
    if priority != m.DEFAULT_PRIORITY:
        parts.append(('priority', str(priority)))
    word, other = _protocol(match)
    if word is not None:
        parts.append((word, None))
    if match.tun_id is not None:
        parts.append(('tun_id', _masked(match.tun_id, c_hex)))
    if match.in_port is not None:
        parts.append(('in_port', _port(match.in_port)))
    if match.vlan_tci is not None:
        parts.append(('vlan_tci', _masked(match.vlan_tci, lambda v: '0x%04x' % v)))
    if match.dl_vlan is not None:
        parts.append(('dl_vlan', str(match.dl_vlan)))
    if match.dl_src is not None:
        parts.append(('dl_src', _mac(match.dl_src)))
    if match.dl_dst is not None:
        parts.append(('dl_dst', _mac(match.dl_dst)))
    if match.arp_tpa is not None:
        parts.append(('arp_tpa', match.arp_tpa))
    parts.extend(_other_field(name, value) for name, value in other)
    return parts


def match_text(match, priority):
    return fields_text(match_fields(match, priority))


def fields_text(fields):
    return ','.join(name if value is None else '%s=%s' % (name, value) for name, value in fields)


def _learn_spec(spec):
    if isinstance(spec, m.LearnMatch):
        if spec.src == spec.dst:
            return field_ref(spec.dst)
        if isinstance(spec.src, int):
            return '%s=%s' % (field_ref(spec.dst), c_hex(spec.src))
        return '%s=%s' % (field_ref(spec.dst), field_ref(spec.src))
    if isinstance(spec, m.LearnLoad):
        src = c_hex(spec.src) if isinstance(spec.src, int) else field_ref(spec.src)
        return 'load:%s->%s' % (src, field_ref(spec.dst))
    return 'output:%s' % field_ref(spec.src)


def _learn(action):
    args = ['table=%d' % action.table]
    if action.idle_timeout:
        args.append('idle_timeout=%d' % action.idle_timeout)
    if action.hard_timeout:
        args.append('hard_timeout=%d' % action.hard_timeout)
    if action.priority != m.DEFAULT_PRIORITY:
        args.append('priority=%d' % action.priority)
    if action.cookie:
        args.append('cookie=%s' % c_hex(action.cookie))
    args.extend(_learn_spec(spec) for spec in action.specs)
    return 'learn(%s)' % ','.join(args)


# How plain ovs-ofctl (OpenFlow 1.0 + NXM) prints a set_field of each field.
_SET_FIELD_OFCTL = {
    'eth_src': lambda v: 'mod_dl_src:%s' % v,
    'eth_dst': lambda v: 'mod_dl_dst:%s' % v,
    'arp_op': lambda v: 'load:%s->NXM_OF_ARP_OP[]' % c_hex(v),
    'arp_spa': lambda v: 'load:%s->NXM_OF_ARP_SPA[]' % c_hex(_ip_int(v)),
    'arp_tpa': lambda v: 'load:%s->NXM_OF_ARP_TPA[]' % c_hex(_ip_int(v)),
    'arp_sha': lambda v: 'load:%s->NXM_NX_ARP_SHA[]' % c_hex(_mac_int(v)),
    'arp_tha': lambda v: 'load:%s->NXM_NX_ARP_THA[]' % c_hex(_mac_int(v)),
}


def _ip_int(text):
    a, b, c, d = (int(x) for x in text.split('.'))
    return (a << 24) | (b << 16) | (c << 8) | d


def _mac_int(text):
    return int(text.replace(':', ''), 16)


def action_text(action, dialect='ofctl'):
    of13 = dialect == 'of13'
    if isinstance(action, m.Output):
        # OVS prints an output to a reserved port as the bare name: IN_PORT, LOCAL.
        return RESERVED_PORTS.get(action.port) or 'output:%d' % action.port
    if isinstance(action, m.Resubmit):
        return 'resubmit(,%d)' % action.table
    if isinstance(action, m.ModVlanVid):
        if of13:
            return 'push_vlan:0x8100,set_field:%d->vlan_vid' % (action.vid | 0x1000)
        return 'mod_vlan_vid:%d' % action.vid
    if isinstance(action, m.StripVlan):
        return 'pop_vlan' if of13 else 'strip_vlan'
    if isinstance(action, m.SetTunnel):
        if of13:
            return 'set_field:%s->tun_id' % c_hex(action.tun_id)
        name = 'set_tunnel64' if action.tun_id >> 32 else 'set_tunnel'
        return '%s:%s' % (name, c_hex(action.tun_id))
    if isinstance(action, m.Load):
        return 'load:%s->%s' % (c_hex(action.value), field_ref(action.dst))
    if isinstance(action, m.Learn):
        return _learn(action)
    if isinstance(action, m.Move):
        return 'move:%s->%s' % (field_ref(action.src), field_ref(action.dst))
    if isinstance(action, m.SetField):
        if of13:
            return 'set_field:%s->%s' % (action.value, action.field)
        return _SET_FIELD_OFCTL[action.field](action.value)
    if isinstance(action, m.Opaque):
        return action.text
    raise TypeError('no text for action %r' % (action,))


_ACTION_TEXTS = {}        # (actions, dialect) -> texts: 100k learned flows share a few lists
_ACTION_TEXTS_MAX = 4096  # distinct lists kept; beyond that the cache starts over


# The same, by the identity of the tuple: flows decoded from a dump share one tuple per
# distinct action list (flowstats_raw), and hashing a tuple of dataclasses for every one
# of 100k flows cost more than printing. Each entry holds its tuple: an id stays its own.
_BY_ID = {}               # (id(actions), dialect) -> (actions, texts)


def action_texts(actions, dialect='ofctl'):
    """The text of each action, as a tuple (remembered per action list: rendering a big
    dump would otherwise print the same few action lists again for every flow)."""
    hit = _BY_ID.get((id(actions), dialect))
    if hit is not None and hit[0] is actions:
        return hit[1]
    key = (actions, dialect)
    texts = _ACTION_TEXTS.get(key)
    if texts is None:
        texts = tuple(action_text(a, dialect) for a in actions)
        if len(_ACTION_TEXTS) >= _ACTION_TEXTS_MAX:
            _ACTION_TEXTS.clear()
        _ACTION_TEXTS[key] = texts
    if len(_BY_ID) >= _ACTION_TEXTS_MAX:
        _BY_ID.clear()
    _BY_ID[id(actions), dialect] = (actions, texts)
    return texts


def actions_text(actions, dialect='ofctl'):
    return ','.join(action_texts(actions, dialect)) or 'drop'


def counter_texts(duration, n_packets, n_bytes):
    """How a dump-flows line prints the counters (duration in seconds, a float)."""
    return '%.3f' % duration, '%d' % n_packets, '%d' % n_bytes


def render(flow, dialect='ofctl', stats=None, fields=None, actions=None, counters=None):
    """One line of ``ovs-ofctl dump-flows``; ``stats`` (a FlowStats) adds the counters.
    ``fields``, ``actions``: the flow's match_fields() and action_texts() when the caller
    already has them; ``counters``: the counters' texts instead of those of ``stats``
    (rest.templates writes placeholders there)."""
    if dialect not in DIALECTS:
        raise ValueError('unknown dialect %r' % dialect)
    head = ['cookie=0x%x' % flow.cookie]  # dump-flows prints cookie=0x0, not %#x
    if stats is not None:
        duration, n_packets, n_bytes = counters or counter_texts(
            stats.duration, stats.n_packets, stats.n_bytes)
        head.append('duration=%ss' % duration)
    head.append('table=%d' % flow.table)
    if stats is not None:
        head += ['n_packets=%s' % n_packets, 'n_bytes=%s' % n_bytes]
    if flow.idle_timeout:
        head.append('idle_timeout=%d' % flow.idle_timeout)
    if flow.hard_timeout:
        head.append('hard_timeout=%d' % flow.hard_timeout)
    line = ', '.join(head) + ', '
    if dialect == 'of13' and flow.flags:
        line += ''.join(flag + ' ' for flag in flow.flags)
    if fields is None:
        fields = match_fields(flow.match, flow.priority)
    match = fields_text(fields)
    if actions is None:
        actions = action_texts(flow.actions, dialect)
    return '%s%s%sactions=%s' % (line, match, ' ' if match else '', ','.join(actions) or 'drop')


def render_stats(stats, dialect='ofctl', fields=None, actions=None, counters=None):
    return render(stats.flow, dialect, stats, fields, actions, counters)


# --- reading what OVS printed --------------------------------------------------------

_STATS_RE = re.compile(r'\b(duration=[0-9.]+s|n_packets=\d+|n_bytes=\d+|idle_age=\d+|'
                       r'hard_age=\d+), ')


def strip_stats(line):
    """A dump-flows line without its counters and ages, comparable with ``render(flow)``."""
    return _STATS_RE.sub('', line.strip())


def parse_dump(output):
    """The flow lines of ``ovs-ofctl dump-flows`` output, counters stripped, header dropped."""
    return [strip_stats(line) for line in output.splitlines()
            if line.strip().startswith('cookie=')]
