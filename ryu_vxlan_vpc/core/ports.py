"""Which OVSDB changes bring a node's tunnels and VM ports to its intent. Pure.

Input: the intent and the observed OVS ports (``bootstrap.state.OvsPort`` by name).
Output: ``PortChange``s, each a description and the ovs-vsctl arguments of one command;
the app runs them all in one ovs-vsctl transaction.

- Tunnels: one ``vxlan-<8 hex>`` port per remote VTEP, made by bootstrap's own step and
  marked ``external_ids:ryu-vxlan-vpc-remote``; only marked ports are ever removed, so a
  foreign ``vxlan-*`` port survives everything. Ours carry BFD as ``bfd_interval_ms``
  says; one made before (or with another interval) is set in place, keeping its ofport.
- VM ports: a br-int port whose Interface has ``external_ids:iface-id`` is tagged with its
  VPC's local VLAN while the registry binds it, and parked on the dead VLAN 4095 otherwise
  (before its record arrives, and after its VPC or record goes), as Neutron's agent does.
  The VNI is written beside the tag (``other_config:ryu-vxlan-vpc-vni``): OVSDB outlives
  the controller and even ovs-vswitchd, so the VNI -> local VLAN mapping survives restarts
  (``recovered_vlans``), as Neutron keeps it in the same column.
"""
import dataclasses
from dataclasses import dataclass
from typing import Tuple

from ..bootstrap.plan import (stale_tunnels, tunnel_bfd, tunnel_bfd_step, tunnel_removal_step,
                              tunnel_step)
from ..model import DEAD_VLAN, TUNNEL_MARK, VLAN_MAX, VNI_MARK, tunnel_port_name


@dataclass(frozen=True)
class PortChange:
    what: str
    args: Tuple[str, ...]   # ovs-vsctl arguments of one command, without the leading '--'


def _vsctl_args(step):
    """A bootstrap Step's ovs-vsctl argv without the program and database options."""
    argv = list(step.argv[1:])
    while argv and (argv[0].startswith('--db=') or argv[0] == '--'):
        argv.pop(0)
    return tuple(argv)


def recovered_vlans(ports, int_bridge):
    """{VNI: local VLAN} as bound VM ports record it in OVSDB (what a restart starts from)."""
    vlans = {}
    for port in sorted(ports.values(), key=lambda p: p.name):
        vni = dict(port.other_config).get(VNI_MARK)
        if port.bridge != int_bridge or vni is None or not vni.isdigit():
            continue
        if isinstance(port.tag, int) and 1 <= port.tag <= VLAN_MAX:
            vlans.setdefault(int(vni), port.tag)
    return vlans


def tunnel_changes(settings, intent, ports, target):
    """Create the wanted tunnels that are missing or differ; remove our unwanted ones."""
    wanted_settings = dataclasses.replace(settings, remote_ips=intent.remote_ips)
    changes = []
    for remote_ip in intent.remote_ips:
        step = tunnel_step(wanted_settings, target, remote_ip)
        port = ports.get(tunnel_port_name(remote_ip))
        if port is not None and port.external_id(TUNNEL_MARK) is None:
            continue  # a namesake we did not make: left alone
        bfd = tunnel_bfd_step(wanted_settings, target, remote_ip)
        if step.check(_Obs(ports)) is None:
            changes.append(PortChange('tunnel to %s: %s' % (remote_ip, step.what),
                                      _vsctl_args(step)))
            if not tunnel_bfd(settings):
                continue  # made without BFD: nothing to turn off
        elif bfd.check(_Obs(ports)) is not None:
            continue
        # In the same transaction as the port when it is made: it never runs without BFD.
        changes.append(PortChange('tunnel to %s: %s' % (remote_ip, bfd.what), _vsctl_args(bfd)))
    wanted = {tunnel_port_name(ip) for ip in intent.remote_ips}
    for name in stale_tunnels(wanted_settings, ports):
        if name in wanted:
            continue  # marked for another remote: the create step above replaces it whole
        step = tunnel_removal_step(settings, target, name)
        changes.append(PortChange('tunnel %s removed (was to %s)'
                                  % (name, ports[name].external_id(TUNNEL_MARK)),
                                  _vsctl_args(step)))
    return changes


def vm_port_changes(settings, intent, ports):
    """Tag each br-int port carrying an iface-id as the intent binds it (or dead)."""
    bound = {b.port_id: b for b in intent.bindings}
    changes = []
    for port in sorted(ports.values(), key=lambda p: p.name):
        iface_id = port.iface_id()
        if port.bridge != settings.int_bridge or iface_id is None:
            continue
        binding = bound.get(iface_id)
        vlan = intent.vlan_of(binding.vni) if binding else None
        recorded = dict(port.other_config).get(VNI_MARK)
        if vlan is not None:
            if port.tag == vlan and recorded == str(binding.vni):
                continue
            changes.append(PortChange(
                'VM port %s (%s): VNI %#x, local VLAN %d' % (port.name, iface_id, binding.vni,
                                                             vlan),
                ('set', 'port', port.name, 'tag=%d' % vlan,
                 'other_config:%s=%d' % (VNI_MARK, binding.vni))))
        elif port.tag != DEAD_VLAN or recorded is not None:
            why = 'no registry record' if binding is None else 'VPC %#x not provisioned' % (
                binding.vni)
            changes.append(PortChange(
                'VM port %s (%s): dead VLAN %d (%s)' % (port.name, iface_id, DEAD_VLAN, why),
                ('set', 'port', port.name, 'tag=%d' % DEAD_VLAN,
                 '--', 'remove', 'port', port.name, 'other_config', VNI_MARK)))
    return changes


class _Obs:
    """The part of bootstrap's Observed that a tunnel step's check reads."""

    def __init__(self, ports):
        self.ports = ports
