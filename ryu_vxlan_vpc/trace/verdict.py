"""Where the traced packet ends on br-tun: delivered to one port, flooded to several,
answered in place (the ARP responder), or dropped in a table, and why. Pure.

Read from what OVS did (the trace's own action lines), not from what the flows say, so
the verdict is the switch's even when a flow changed since.
"""
from ..pipeline import tables as t
from .explain import IN_PORT, outputs, table_title

# Why each table's catch-all drop fires, in our pipeline's terms.
DROP_REASONS = {
    t.LOCAL_SWITCHING: 'the packet came in on a port that is neither the patch port nor a '
                       'tunnel',
    t.GRE_TUN_TO_LV: 'GRE is not used here',
    t.VXLAN_TUN_TO_LV: 'VNI {vni} is not a VPC of this node (no tun_id flow for it)',
    t.DVR_NOT_LEARN: 'DVR is not used here',
    t.FLOOD_TO_TUN: 'no flood flow for this local VLAN: no other node hosts a port of this '
                    'VPC (l2population), or no VPC of this node has the VLAN',
}


def verdict(hops, ports, vni, local_vlan=None):
    """``hops``: the br-tun hops of a parse.Trace; ``ports``: explain.Ports.
    Returns {'result', 'table', 'ports', 'text'}."""
    sent = [(hop, port) for hop in hops for port in outputs(hop.actions)]
    last = hops[-1]
    if not sent:
        return _dropped(last, vni)
    # IN_PORT: the packet goes back where it came from (the ARP responder's answer).
    views = [ports.view(ports.in_port if port == IN_PORT else port) for _, port in sent]
    labels = [ports.label(v['ofport']) for v in views]
    table = sent[-1][0].table
    if len(sent) > 1:
        return {'result': 'flooded', 'table': table, 'ports': views,
                'text': 'flooded in %s to %s' % (table_title(table), ', '.join(labels))}
    hop, port = sent[0]
    if port == IN_PORT:
        what = ('answered by the ARP responder' if hop.table == t.ARP_RESPONDER
                else 'sent back')
        return {'result': 'answered' if hop.table == t.ARP_RESPONDER else 'returned',
                'table': table, 'ports': views,
                'text': '%s in %s: the reply goes back out %s' % (what, table_title(table),
                                                                  labels[0])}
    where = labels[0]
    if views[0]['towards'] == 'br-int' and local_vlan is not None:
        where += ', on local VLAN %d' % local_vlan
    elif views[0]['towards'] == 'tunnel':
        where = 'tunnel ' + where
    return {'result': 'delivered', 'table': table, 'ports': views,
            'text': 'delivered by %s to %s' % (table_title(table), where)}


def _dropped(last, vni):
    title = table_title(last.table)
    if not last.matched:
        why = 'no flow matched'
    else:
        why = DROP_REASONS.get(last.table, 'its flow drops it').format(vni='%#x' % vni)
    return {'result': 'dropped', 'table': last.table, 'ports': [],
            'text': 'dropped in %s: %s' % (title, why)}
