"""Ryu OpenFlow 1.3 flow statistics -> flow descriptions (``FlowStats``).

Used for resync (what does the switch hold?) and for REST. Anything this model does not
name is kept as ``Opaque`` text or ``Match.other``, so every flow still renders.
"""
from ..flows import model as m
from .fields import MOVE_OFCTL_NAME, ofctl_name

OFPVID_PRESENT = 0x1000
FLAG_NAMES = ((1, 'send_flow_rem'), (2, 'check_overlap'), (4, 'reset_counts'),
              (8, 'no_packet_counts'), (16, 'no_byte_counts'))
RESUBMIT_IN_PORT = 0xfff8  # "resubmit(,T)": keep the packet's in_port


def _ref(pair, n_bits):
    name, ofs = pair
    return m.FieldRef(ofctl_name(name), ofs, n_bits)


def match(ofp_match):
    fields, other = {}, []
    for name, value in ofp_match.items():
        if name == 'in_port':
            fields['in_port'] = value
        elif name == 'tunnel_id':
            fields['tun_id'] = value
        elif name == 'vlan_vid':
            if isinstance(value, int) and value & OFPVID_PRESENT:
                fields['dl_vlan'] = value & 0xfff
            else:
                fields['vlan_tci'] = value  # (value, mask) or 0 (untagged)
        elif name == 'eth_dst':
            fields['dl_dst'] = value
        elif name == 'eth_src':
            fields['dl_src'] = value
        elif name == 'eth_type':
            fields['eth_type'] = value
        elif name == 'arp_tpa' and isinstance(value, str):
            fields['arp_tpa'] = value
        else:
            other.append((name, tuple(value) if isinstance(value, list) else value))
    return m.Match(other=tuple(other), **fields)


def _learn(action):
    specs = []
    for spec in action.specs:
        kind = type(spec).__name__
        src = spec.src if isinstance(spec.src, int) else _ref(spec.src, spec.n_bits)
        if kind == 'NXFlowSpecMatch':
            specs.append(m.LearnMatch(_ref(spec.dst, spec.n_bits), src))
        elif kind == 'NXFlowSpecLoad':
            specs.append(m.LearnLoad(_ref(spec.dst, spec.n_bits), src))
        else:
            specs.append(m.LearnOutput(src))
    return m.Learn(table=action.table_id, specs=tuple(specs), priority=action.priority,
                   cookie=action.cookie, idle_timeout=action.idle_timeout,
                   hard_timeout=action.hard_timeout)


def _one(action):
    kind = type(action).__name__
    if kind == 'OFPActionOutput':
        return m.Output(action.port)
    if kind == 'NXActionResubmitTable' and action.in_port == RESUBMIT_IN_PORT:
        return m.Resubmit(action.table_id)
    if kind == 'NXActionResubmitTable':
        return m.Opaque('resubmit(%d,%d)' % (action.in_port, action.table_id))
    if kind == 'NXActionResubmit':
        return m.Opaque('resubmit:%d' % action.in_port)
    if kind == 'OFPActionPopVlan':
        return m.StripVlan()
    if kind in ('NXActionSetTunnel', 'NXActionSetTunnel64'):
        return m.SetTunnel(action.tun_id)
    if kind == 'OFPActionSetField' and action.key == 'tunnel_id':
        return m.SetTunnel(action.value)
    if kind == 'NXActionRegLoad':
        ofs, n_bits = action.ofs_nbits >> 6, (action.ofs_nbits & 0x3f) + 1
        return m.Load(action.value, m.FieldRef(ofctl_name(action.dst), ofs, n_bits))
    if kind == 'NXActionLearn':
        return _learn(action)
    if kind == 'OFPActionSetField' and action.key in m.SET_FIELDS:
        return m.SetField(action.key, action.value)
    if kind == 'OFPActionSetField':
        return m.Opaque('set_field:%s->%s' % (action.value, action.key))
    if (kind == 'NXActionRegMove' and action.src_field in MOVE_OFCTL_NAME
            and action.dst_field in MOVE_OFCTL_NAME):
        return m.Move(m.FieldRef(MOVE_OFCTL_NAME[action.src_field], action.src_ofs,
                                 action.n_bits),
                      m.FieldRef(MOVE_OFCTL_NAME[action.dst_field], action.dst_ofs,
                                 action.n_bits))
    if kind == 'OFPActionPushVlan':
        return m.Opaque('push_vlan:0x%x' % action.ethertype)
    return m.Opaque(kind)


def actions(ofp_actions):
    """Our actions for a list of OpenFlow actions; push_vlan + set vlan_vid is mod_vlan_vid."""
    out, i = [], 0
    while i < len(ofp_actions):
        act, nxt = ofp_actions[i], ofp_actions[i + 1] if i + 1 < len(ofp_actions) else None
        if (type(act).__name__ == 'OFPActionPushVlan' and act.ethertype == 0x8100
                and type(nxt).__name__ == 'OFPActionSetField' and nxt.key == 'vlan_vid'
                and nxt.value & OFPVID_PRESENT):
            out.append(m.ModVlanVid(nxt.value & 0xfff))
            i += 2
            continue
        out.append(_one(act))
        i += 1
    return tuple(out)


def _instructions(instructions):
    acts = []
    for inst in instructions:
        kind = type(inst).__name__
        if kind == 'OFPInstructionActions' and inst.type == 4:  # OFPIT_APPLY_ACTIONS
            acts.extend(actions(inst.actions))
        elif kind == 'OFPInstructionGotoTable':
            acts.append(m.Opaque('goto_table:%d' % inst.table_id))
        else:
            acts.append(m.Opaque(kind))
    return tuple(acts)


def flow_stats(stats):
    flow = m.Flow(
        table=stats.table_id, priority=stats.priority, match=match(stats.match),
        actions=_instructions(stats.instructions), cookie=stats.cookie,
        idle_timeout=stats.idle_timeout, hard_timeout=stats.hard_timeout,
        flags=tuple(name for bit, name in FLAG_NAMES if stats.flags & bit))
    return m.FlowStats(flow, stats.duration_sec, stats.duration_nsec,
                       stats.packet_count, stats.byte_count)
