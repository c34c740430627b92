"""JSON views of switches, flows, VPCs and learned MACs. Pure: plain data in, dicts out."""
from ..model import names_by_ofport, remote_ip_of_port
from ..flows import model as m
from ..flows import text
from ..pipeline import tables
from ..pipeline.learned import output_port
from ..tunnel_health import UNKNOWN
from .params import dpid_text


def port_view(name, ofport):
    return {'name': name, 'ofport': ofport, 'remote_ip': remote_ip_of_port(name)}


def tunnel_view(dpid, name, ofport, health, bfd_status):
    """A tunnel port with its BFD health ('up', 'down', 'no-bfd'; 'unknown' while not read)
    and OVS's raw bfd_status (None while not read or without BFD)."""
    return dict(port_view(name, ofport), dpid=dpid_text(dpid),
                health=health.get(name, UNKNOWN), bfd=bfd_status.get(name) or None)


def switch_view(switch, settings, vpcs, flow_count, health=None):
    patch = settings.patch_int_port
    health = health or {}
    return {
        'dpid': dpid_text(switch.dpid),
        'bridge': settings.tun_bridge,
        'patch_port': {'name': patch, 'ofport': switch.ports.get(patch)},
        'tunnel_ports': [dict(port_view(n, p), health=health.get(n, UNKNOWN))
                         for n, p in sorted(switch.tunnel_ports().items())],
        'vpcs': [vpc_key(v) for v in vpcs],
        'flows_installed': flow_count,
        # What the last sync did and where its time went (None before the first one).
        'last_sync': switch.last_sync.as_dict() if switch.last_sync else None,
    }


def vpc_key(vpc):
    return {'vni': vpc.vni, 'vni_hex': '%#x' % vpc.vni, 'local_vlan': vpc.local_vlan}


def flood_lists(flows, flow_cookie):
    """{local VLAN: [ofport]} of table 22's per-VPC flood flows, as the switch holds them."""
    lists = {}
    for stats in flows:
        flow = stats.flow
        if (flow.table == tables.FLOOD_TO_TUN and flow.cookie == flow_cookie
                and flow.match.dl_vlan is not None):
            lists[flow.match.dl_vlan] = [a.port for a in flow.actions
                                         if isinstance(a, m.Output)]
    return lists


def vpcs_view(vpcs, switches, floods):
    """Each VPC with the tunnel ports its broadcasts are flooded to, per br-tun, read from
    the switch's table 22 (``floods``: {dpid: flood_lists(...)}): with l2population that is
    only the nodes hosting one of its ports, and none at all when no other node does."""
    out = []
    for vpc in vpcs:
        view = vpc_key(vpc)
        view['switches'] = []
        for sw in switches:
            names = names_by_ofport(sw.ports)
            ofports = floods.get(sw.dpid, {}).get(vpc.local_vlan, [])
            view['switches'].append({
                'dpid': dpid_text(sw.dpid),
                'flood_ports': [port_view(names.get(no), no) if names.get(no)
                                else {'name': None, 'ofport': no, 'remote_ip': None}
                                for no in ofports]})
        out.append(view)
    return out


def match_view(flow, fields=None):
    """The match as {field: printed value}; priority is reported on its own."""
    if fields is None:
        fields = text.match_fields(flow.match, flow.priority)
    # A protocol word (arp, ip, tcp ...) is a field without a value: shown as true.
    return {name: True if value is None else value
            for name, value in fields if name != 'priority'}


def flow_view(dpid, stats):
    flow = stats.flow
    # Computed once for the view and its text line.
    fields, actions = text.match_fields(flow.match, flow.priority), text.action_texts(flow.actions)
    return {
        'dpid': dpid_text(dpid),
        'table': flow.table,
        'priority': flow.priority,
        'cookie': '0x%x' % flow.cookie,
        'match': match_view(flow, fields),
        'actions': list(actions) or ['drop'],
        'idle_timeout': flow.idle_timeout,
        'hard_timeout': flow.hard_timeout,
        'flags': list(flow.flags),
        'duration_sec': stats.duration_sec,
        'duration': round(stats.duration, 3),
        'n_packets': stats.n_packets,
        'n_bytes': stats.n_bytes,
        'text': text.render_stats(stats, fields=fields, actions=actions),
    }


def mac_entry(stats, settings, ports_by_ofport):
    """A table-20 flow as a MAC entry (learned, or populated from the registry by
    l2population), or None if the flow is neither."""
    return (learned_mac(stats, settings, ports_by_ofport) or
            populated_mac(stats, settings, ports_by_ofport))


def populated_mac(stats, settings, ports_by_ofport):
    """An l2population entry (table 20, priority 2, our cookie) as a MAC entry, or None."""
    flow = stats.flow
    if (flow.table != tables.UCAST_TO_TUN or flow.cookie != settings.flow_cookie
            or flow.priority != tables.UCAST_POPULATED or flow.match.dl_dst is None
            or flow.match.dl_vlan is None):
        return None
    vni = next((a.tun_id for a in flow.actions if isinstance(a, m.SetTunnel)), None)
    # Kept while the registry has the port: no time left to tell.
    return _mac_view(stats, 'registry', vni, flow.match.dl_vlan, ports_by_ofport, None)


def learned_mac(stats, settings, ports_by_ofport):
    """A learned table-20 flow as a MAC entry, or None if the flow is not one."""
    flow = stats.flow
    if flow.table != tables.UCAST_TO_TUN or flow.cookie != settings.learn_cookie:
        return None
    if flow.match.dl_dst is None or not isinstance(flow.match.vlan_tci, tuple):
        return None
    vni = next((a.value for a in flow.actions
                if isinstance(a, m.Load) and a.dst.name == 'NXM_NX_TUN_ID'), None)
    # OVS restarts a learned flow's hard timeout whenever learn() fires again, and OpenFlow
    # 1.3 stats carry no "hard_age": timeout minus age is the least time left, not the exact.
    left = None
    if flow.hard_timeout:
        left = max(0, flow.hard_timeout - stats.duration_sec)
    return _mac_view(stats, 'learned', vni, flow.match.vlan_tci[0] & 0x0fff, ports_by_ofport,
                     left)


def _mac_view(stats, source, vni, local_vlan, ports_by_ofport, seconds_left_min):
    port = output_port(stats.flow)
    name = ports_by_ofport.get(port)
    return {
        'mac': stats.flow.match.dl_dst,
        'source': source,
        'vni': vni,
        'vni_hex': '%#x' % vni if vni is not None else None,
        'local_vlan': local_vlan,
        'tunnel_port': {'name': name, 'ofport': port},
        'remote_ip': remote_ip_of_port(name) if name else None,
        'seconds_left_min': seconds_left_min,
        'n_packets': stats.n_packets,
    }


def tables_view(dpid, counts):
    """Every pipeline table (0 when empty) and any other table that holds flows, in order."""
    return [{'dpid': dpid_text(dpid), 'table': table, 'name': tables.NAMES.get(table),
             'flows': counts.get(table, 0)}
            for table in sorted(set(tables.ALL) | set(counts))]


def fleet_view(fleet, revision, node_name):
    """The registry's last snapshot as the page shows it: every node with its VPCs and port
    count, every VPC with the nodes hosting it. Ports are counted, not listed: a fleet can
    hold 100k of them and the page reads this every few seconds.

    ``fleet`` None means no registry (file mode): an empty fleet with ``registry`` false,
    one shape for every client rather than an error the page would log every few seconds.
    """
    if fleet is None:
        return {'registry': False, 'revision': None, 'node': None, 'nodes': [], 'vpcs': []}
    vpcs_of, nodes_of, ports_of_node, ports_of_vpc = {}, {}, {}, {}
    for port in fleet.ports:
        vpcs_of.setdefault(port.node, set()).add(port.vni)
        nodes_of.setdefault(port.vni, set()).add(port.node)
        ports_of_node[port.node] = ports_of_node.get(port.node, 0) + 1
        ports_of_vpc[port.vni] = ports_of_vpc.get(port.vni, 0) + 1
    return {
        'registry': True,
        'revision': revision,
        'node': node_name,
        'nodes': [{'name': n.name, 'local_ip': n.local_ip, 'this_node': n.name == node_name,
                   'vpcs': ['%#x' % v for v in sorted(vpcs_of.get(n.name, ()))],
                   'ports': ports_of_node.get(n.name, 0)}
                  for n in sorted(fleet.nodes.values(), key=lambda n: n.name)],
        'vpcs': [{'vni': v.vni, 'vni_hex': '%#x' % v.vni, 'name': v.name, 'cidr': v.cidr,
                  'nodes': sorted(nodes_of.get(v.vni, ())), 'ports': ports_of_vpc.get(v.vni, 0)}
                 for v in sorted(fleet.vpcs.values(), key=lambda v: v.vni)],
    }
