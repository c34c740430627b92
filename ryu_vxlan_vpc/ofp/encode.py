"""Flow descriptions -> Ryu OpenFlow 1.3 messages. The only place that builds FlowMods.

Encodings are chosen so OVS stores what the article's ``ovs-ofctl add-flow`` lines store:
``mod_vlan_vid`` goes out as push_vlan + set_field (as OVS itself encodes it in OF1.3),
``set_tunnel`` as Nicira set_tunnel, ``resubmit`` as Nicira resubmit_table.
"""
from ryu.ofproto import nicira_ext

from ..flows import model as m
from ..flows import mods
from .fields import move_ryu_name, ryu_name

OFPVID_PRESENT = 0x1000
ALL_ONES_64 = (1 << 64) - 1


def match(parser, mt):
    fields = {}
    if mt.tun_id is not None:
        fields['tunnel_id'] = mt.tun_id
    if mt.in_port is not None:
        fields['in_port'] = mt.in_port
    if mt.dl_vlan is not None:
        fields['vlan_vid'] = OFPVID_PRESENT | mt.dl_vlan
    if mt.vlan_tci is not None:
        value, mask = mt.vlan_tci if isinstance(mt.vlan_tci, tuple) else (mt.vlan_tci, 0xffff)
        if mask & 0xe000:
            raise ValueError('vlan_tci PCP bits cannot be matched through vlan_vid: %r'
                             % (mt.vlan_tci,))
        fields['vlan_vid'] = (value & 0x1fff, mask & 0x1fff)
    if mt.dl_src is not None:
        fields['eth_src'] = mt.dl_src
    if mt.dl_dst is not None:
        fields['eth_dst'] = mt.dl_dst
    if mt.eth_type is not None:
        fields['eth_type'] = mt.eth_type
    if mt.arp_tpa is not None:
        fields['arp_tpa'] = mt.arp_tpa
    for name, value in mt.other:  # fields read from the switch: given back as read
        if name in fields:
            raise ValueError('match field %s given twice: %r' % (name, mt))
        fields[name] = value
    return parser.OFPMatch(**fields)


def _ref(ref):
    return (ryu_name(ref.name), ref.ofs)


def _learn_spec(parser, spec):
    if isinstance(spec, m.LearnMatch):
        src = spec.src if isinstance(spec.src, int) else _ref(spec.src)
        return parser.NXFlowSpecMatch(src=src, dst=_ref(spec.dst), n_bits=spec.dst.n_bits)
    if isinstance(spec, m.LearnLoad):
        src = spec.src if isinstance(spec.src, int) else _ref(spec.src)
        return parser.NXFlowSpecLoad(src=src, dst=_ref(spec.dst), n_bits=spec.dst.n_bits)
    return parser.NXFlowSpecOutput(src=_ref(spec.src), dst='', n_bits=spec.src.n_bits)


def actions(parser, action):
    """The OpenFlow actions for one of our actions (a list: mod_vlan_vid takes two)."""
    if isinstance(action, m.Output):
        return [parser.OFPActionOutput(action.port)]
    if isinstance(action, m.Resubmit):
        return [parser.NXActionResubmitTable(table_id=action.table)]
    if isinstance(action, m.ModVlanVid):
        return [parser.OFPActionPushVlan(0x8100),
                parser.OFPActionSetField(vlan_vid=OFPVID_PRESENT | action.vid)]
    if isinstance(action, m.StripVlan):
        return [parser.OFPActionPopVlan()]
    if isinstance(action, m.SetTunnel):
        if action.tun_id >> 32:
            return [parser.NXActionSetTunnel64(tun_id=action.tun_id)]
        return [parser.NXActionSetTunnel(tun_id=action.tun_id)]
    if isinstance(action, m.Load):
        return [parser.NXActionRegLoad(
            ofs_nbits=nicira_ext.ofs_nbits(action.dst.ofs,
                                           action.dst.ofs + action.dst.n_bits - 1),
            dst=ryu_name(action.dst.name), value=action.value)]
    if isinstance(action, m.Move):
        return [parser.NXActionRegMove(
            src_field=move_ryu_name(action.src.name), dst_field=move_ryu_name(action.dst.name),
            n_bits=action.src.n_bits, src_ofs=action.src.ofs, dst_ofs=action.dst.ofs)]
    if isinstance(action, m.SetField):
        return [parser.OFPActionSetField(**{action.field: action.value})]
    if isinstance(action, m.Learn):
        return [parser.NXActionLearn(
            table_id=action.table, priority=action.priority, cookie=action.cookie,
            idle_timeout=action.idle_timeout, hard_timeout=action.hard_timeout,
            specs=[_learn_spec(parser, spec) for spec in action.specs])]
    raise ValueError('cannot encode action %r' % (action,))


def flow_add(datapath, flow):
    """OFPFC_ADD: installs the flow, replacing an entry with the same table/priority/match."""
    ofp, parser = datapath.ofproto, datapath.ofproto_parser
    acts = [a for action in flow.actions for a in actions(parser, action)]
    inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, acts)] if acts else []
    return parser.OFPFlowMod(
        datapath, cookie=flow.cookie, table_id=flow.table, command=ofp.OFPFC_ADD,
        idle_timeout=flow.idle_timeout, hard_timeout=flow.hard_timeout,
        priority=flow.priority, match=match(parser, flow.match), instructions=inst)


def flow_delete_strict(datapath, flow):
    """Delete exactly this entry, and only if it still carries its cookie."""
    ofp, parser = datapath.ofproto, datapath.ofproto_parser
    return parser.OFPFlowMod(
        datapath, cookie=flow.cookie, cookie_mask=ALL_ONES_64, table_id=flow.table,
        command=ofp.OFPFC_DELETE_STRICT, priority=flow.priority,
        out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, match=match(parser, flow.match))


def flows_delete(datapath, cookie, table=None, out_port=None, where=None):
    """Delete every flow with ``cookie`` (in ``table``, at least as specific as ``where``,
    outputting to ``out_port``)."""
    ofp, parser = datapath.ofproto, datapath.ofproto_parser
    return parser.OFPFlowMod(
        datapath, cookie=cookie, cookie_mask=ALL_ONES_64,
        table_id=ofp.OFPTT_ALL if table is None else table, command=ofp.OFPFC_DELETE,
        out_port=ofp.OFPP_ANY if out_port is None else out_port, out_group=ofp.OFPG_ANY,
        match=parser.OFPMatch() if where is None else match(parser, where))


def flow_mod(datapath, mod):
    """One of our plain FlowMods (flows.mods) as an OpenFlow message."""
    if isinstance(mod, mods.AddFlow):
        return flow_add(datapath, mod.flow)
    if isinstance(mod, mods.DeleteStrict):
        return flow_delete_strict(datapath, mod.flow)
    if isinstance(mod, mods.DeleteFlows):
        return flows_delete(datapath, mod.cookie, mod.table, mod.out_port, mod.match)
    raise ValueError('not a flow change: %r' % (mod,))


def flow_stats_request(datapath, table=None, cookie=None):
    ofp, parser = datapath.ofproto, datapath.ofproto_parser
    return parser.OFPFlowStatsRequest(
        datapath, table_id=ofp.OFPTT_ALL if table is None else table,
        out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
        cookie=cookie or 0, cookie_mask=ALL_ONES_64 if cookie is not None else 0,
        match=parser.OFPMatch())
