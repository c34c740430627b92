"""A node's intent from each source: the config file, or the fleet registry (etcd)."""
from ..model import Intent, PortBinding, RemotePort, Vpc, allocate_vlans


def from_settings(settings):
    """File mode: the VPCs with their configured local VLANs and the configured tunnels."""
    return Intent(vpcs=settings.vpcs, remote_ips=settings.remote_ips)


def from_fleet(fleet, node_name, local_ip, previous_vlans):
    """Registry mode. Returns (Intent, notes): the notes are lines worth logging.

    - every other node's VTEP is a tunnel;
    - this node's ports (records under its name) are bound to their VPC;
    - a VPC is provisioned here while this node hosts at least one port of it, as
      Neutron does, so a fleet can hold far more than 4094 VPCs; its local VLAN is kept
      from ``previous_vlans`` or the lowest free one;
    - the other nodes' ports in those VPCs are ``remote_ports`` (l2population and the
      ARP responder use them; they decide each VPC's flood list too).
    """
    notes = []
    me = fleet.nodes.get(node_name)
    if me is None:
        notes.append('node %r is not in the registry: no VM ports bound here' % node_name)
    elif me.local_ip != local_ip:
        notes.append('the registry gives node %r local_ip %s, the config %s; the config '
                     'wins here' % (node_name, me.local_ip, local_ip))
    remote_ips = {n.local_ip for n in fleet.nodes.values()
                  if n.name != node_name and n.local_ip != local_ip}
    bindings = [PortBinding(p.port_id, p.vni, p.mac, p.ip)
                for p in fleet.ports if p.node == node_name]
    vlans, left_out = allocate_vlans({b.vni for b in bindings}, previous_vlans)
    for vni in left_out:
        notes.append('VNI %#x not provisioned: all 4094 local VLANs are in use' % vni)
    vpcs = tuple(Vpc(vni, vlan) for vni, vlan in vlans.items())
    remote_ports = []
    for p in fleet.ports:
        host = fleet.nodes.get(p.node)
        if (p.vni in vlans and p.node != node_name and host is not None
                and host.local_ip != local_ip):
            remote_ports.append(RemotePort(p.vni, p.mac, p.ip, host.local_ip))
    return Intent(vpcs=vpcs, remote_ips=tuple(remote_ips), bindings=tuple(bindings),
                  manage_ports=True, remote_ports=tuple(remote_ports)), notes


def describe_change(old, new):
    """One line saying what differs between two intents (None: none before)."""
    if old is None:
        return 'intent: VPCs %s; remote VTEPs %s; %d VM ports bound' % (
            _vpcs(new.vpcs), ', '.join(new.remote_ips) or 'none', len(new.bindings))
    parts = []
    for what, a, b, text in (('VPC', old.vpcs, new.vpcs, _vpcs),
                             ('remote VTEP', old.remote_ips, new.remote_ips, ', '.join),
                             ('VM port', old.bindings, new.bindings, _bindings),
                             ('remote port', old.remote_ports, new.remote_ports, _remote)):
        # In the intent's own order (sorted); no str() of 50k remote ports to sort them.
        added, removed = _missing(b, a), _missing(a, b)
        if added:
            parts.append('%s added: %s' % (what, text(added)))
        if removed:
            parts.append('%s removed: %s' % (what, text(removed)))
    return '; '.join(parts) or 'no change'


def _missing(items, other):
    other = set(other)
    return [item for item in items if item not in other]


def _vpcs(vpcs):
    return ', '.join('%#x (local VLAN %d)' % (v.vni, v.local_vlan) for v in vpcs) or 'none'


def _remote(ports):
    shown = ', '.join('%s in %#x at %s' % (p.mac, p.vni, p.remote_ip) for p in ports[:10])
    return shown + (' and %d more' % (len(ports) - 10) if len(ports) > 10 else '')


def _bindings(bindings):
    return ', '.join('%s in %#x' % (b.port_id, b.vni) for b in bindings)
