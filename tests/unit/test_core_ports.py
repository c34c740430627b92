"""OVSDB changes for a node's intent: tunnel ports and VM port tags, on hand-built ports."""
import dataclasses

from ryu_vxlan_vpc.bootstrap.plan import Target
from ryu_vxlan_vpc.bootstrap.state import OvsPort
from ryu_vxlan_vpc.config import Settings
from ryu_vxlan_vpc.core.ports import recovered_vlans, tunnel_changes, vm_port_changes
from ryu_vxlan_vpc.model import (DEAD_VLAN, TUNNEL_MARK, VNI_MARK, Intent, PortBinding, Vpc,
                                 tunnel_port_name)

LOCAL_IP = '172.21.12.7'
SETTINGS = Settings(LOCAL_IP, (), (), etcd_endpoints=('127.0.0.1:2379',), node_name='compute1')
TARGET = Target(db='unix:/run/ovs/db.sock')
MAC = 'fa:16:3e:00:00:01'


BFD = (('enable', 'true'), ('min_rx', '300'), ('min_tx', '300'))


def tunnel(remote_ip, mark=True, local_ip=LOCAL_IP, bridge='br-tun', name=None, mark_ip=None,
           bfd=BFD):
    """A VXLAN port as our tunnel step makes it (or a variant of it)."""
    opts = [('remote_ip', remote_ip), ('local_ip', local_ip), ('dst_port', '4789'),
            ('df_default', 'true'), ('in_key', 'flow'), ('out_key', 'flow')]
    return OvsPort(name or tunnel_port_name(remote_ip), bridge, type='vxlan',
                   options=tuple(sorted(opts)),
                   external_ids=((TUNNEL_MARK, mark_ip or remote_ip),) if mark else (),
                   bfd=bfd)


def vm(name, iface_id, tag=None, vni=None, bridge='br-int'):
    return OvsPort(name, bridge, tag=tag,
                   other_config=((VNI_MARK, str(vni)),) if vni is not None else (),
                   iface_external_ids=(('iface-id', iface_id),) if iface_id else ())


def by_name(*ports):
    return {p.name: p for p in ports}


def intent(remote_ips=(), vpcs=(), bindings=()):
    return Intent(vpcs=vpcs, remote_ips=remote_ips, bindings=bindings, manage_ports=True)


def run(args, ports):
    """Apply ovs-vsctl port commands as one transaction would, to a name -> OvsPort view.
    Understands exactly what tunnel_changes and vm_port_changes emit."""
    ports = dict(ports)
    commands, cur = [], []
    for arg in args:
        if arg == '--':
            if cur:
                commands.append(cur)
            cur = []
        else:
            cur.append(arg)
    commands.append(cur)
    for cmd in commands:
        if cmd[:2] == ['--if-exists', 'del-port']:
            ports.pop(cmd[3], None)
        elif cmd[0] == 'add-port':
            assert cmd[2] not in ports, 'add-port of an existing port %s' % cmd[2]
            ports[cmd[2]] = OvsPort(cmd[2], cmd[1])
        elif cmd[:2] == ['set', 'interface']:
            # As OVSDB does: a key of a map column is set, the map's other keys stay.
            p, kv = ports[cmd[2]], dict(a.split('=', 1) for a in cmd[3:])
            maps = {'options': dict(p.options), 'bfd': dict(p.bfd)}
            for k, v in kv.items():
                if ':' in k:
                    column, key = k.split(':', 1)
                    maps[column][key] = v
            ports[p.name] = dataclasses.replace(
                p, type=kv.get('type', p.type), options=tuple(sorted(maps['options'].items())),
                bfd=tuple(sorted(maps['bfd'].items())))
        elif cmd[:2] == ['remove', 'interface'] and cmd[3] == 'bfd':
            p = ports[cmd[2]]
            ports[p.name] = dataclasses.replace(
                p, bfd=tuple((k, v) for k, v in p.bfd if k not in cmd[4:]))
        elif cmd[:2] == ['set', 'port']:
            p = ports[cmd[2]]
            tag, ext, other = p.tag, dict(p.external_ids), dict(p.other_config)
            for a in cmd[3:]:
                k, v = a.split('=', 1)
                if k == 'tag':
                    tag = int(v)
                elif k.startswith('external_ids:'):
                    ext[k.split(':', 1)[1]] = v
                elif k.startswith('other_config:'):
                    other[k.split(':', 1)[1]] = v
                else:
                    raise AssertionError('unexpected %s' % a)
            ports[p.name] = dataclasses.replace(p, tag=tag,
                                                external_ids=tuple(sorted(ext.items())),
                                                other_config=tuple(sorted(other.items())))
        elif cmd[:3] == ['remove', 'port', cmd[2]] and cmd[3] == 'other_config':
            p = ports[cmd[2]]
            other = tuple((k, v) for k, v in p.other_config if k != cmd[4])
            ports[p.name] = dataclasses.replace(p, other_config=other)
        else:
            raise AssertionError('unexpected command %r' % (cmd,))
    return ports


def apply(changes, ports):
    args = []
    for change in changes:
        assert change.args and change.args[0] != '--', change   # the caller adds '--'
        args += ['--'] + list(change.args)
    return run(args, ports)


# --- tunnels ------------------------------------------------------------------------------

def test_missing_tunnels_are_created_marked_and_nothing_else_runs():
    changes = tunnel_changes(SETTINGS, intent(('172.21.12.9', '172.21.12.8')), {}, TARGET)
    assert len(changes) == 4    # each port, then BFD on it (one transaction for all)
    assert changes[1].args == ('set', 'interface', 'vxlan-ac150c08', 'bfd:enable=true',
                               'bfd:min_rx=300', 'bfd:min_tx=300')
    first = changes[0].args
    # One command each, joined with '--' by the caller: no leading '--' of its own.
    assert first[:4] == ('--if-exists', 'del-port', 'br-tun', 'vxlan-ac150c08')
    assert 'add-port' in first and 'type=vxlan' in first
    assert 'options:remote_ip=172.21.12.8' in first and 'options:local_ip=172.21.12.7' in first
    assert 'external_ids:%s=172.21.12.8' % TUNNEL_MARK in first
    assert not any(a.startswith('--db') or a == 'ovs-vsctl' for a in first)
    assert 'external_ids:%s=172.21.12.9' % TUNNEL_MARK in changes[2].args
    assert '172.21.12.8' in changes[0].what


def test_created_tunnels_read_back_need_no_further_change():
    wanted = intent(('172.21.12.8', '172.21.12.9'))
    after = apply(tunnel_changes(SETTINGS, wanted, {}, TARGET), {})
    assert sorted(after) == ['vxlan-ac150c08', 'vxlan-ac150c09']
    assert after['vxlan-ac150c08'] == tunnel('172.21.12.8')
    assert tunnel_changes(SETTINGS, wanted, after, TARGET) == []


def test_tunnels_already_right_change_nothing():
    ports = by_name(tunnel('172.21.12.8'), tunnel('172.21.12.9'))
    assert tunnel_changes(SETTINGS, intent(('172.21.12.8', '172.21.12.9')), ports, TARGET) == []


def test_only_our_marked_tunnels_that_left_the_intent_are_removed():
    ports = by_name(tunnel('172.21.12.8'), tunnel('172.21.12.9'),
                    tunnel('172.21.12.10', mark=False),                # foreign vxlan-*
                    tunnel('10.0.0.1', mark=False, name='vxlan-01'),   # the article's name
                    vm('qvo1', 'p1', tag=1, vni=5))
    changes = tunnel_changes(SETTINGS, intent(('172.21.12.8',)), ports, TARGET)
    assert [c.args for c in changes] == [
        ('--if-exists', 'del-port', 'br-tun', 'vxlan-ac150c09')]
    assert 'was to 172.21.12.9' in changes[0].what
    after = apply(changes, ports)
    assert sorted(after) == ['qvo1', 'vxlan-01', 'vxlan-ac150c08', 'vxlan-ac150c0a']


def test_an_empty_intent_removes_all_our_tunnels_and_no_foreign_one():
    ports = by_name(tunnel('172.21.12.8'), tunnel('172.21.12.10', mark=False))
    after = apply(tunnel_changes(SETTINGS, intent(()), ports, TARGET), ports)
    assert sorted(after) == ['vxlan-ac150c0a']


def test_a_foreign_namesake_of_a_wanted_tunnel_is_left_alone():
    foreign = tunnel('172.21.12.8', mark=False, local_ip='192.0.2.1')
    assert tunnel_changes(SETTINGS, intent(('172.21.12.8',)), by_name(foreign), TARGET) == []


def test_our_tunnel_with_other_options_is_replaced_whole():
    stale = tunnel('172.21.12.8', local_ip='172.21.12.99')   # our local_ip changed
    ports = by_name(stale)
    changes = tunnel_changes(SETTINGS, intent(('172.21.12.8',)), ports, TARGET)
    assert len(changes) == 2 and changes[0].args[:4] == (
        '--if-exists', 'del-port', 'br-tun', 'vxlan-ac150c08')
    assert apply(changes, ports) == by_name(tunnel('172.21.12.8'))


def test_our_tunnel_marked_for_another_remote_is_replaced_not_removed():
    """The port named for a wanted remote carries our mark for another one (hand-edited,
    or written by an older version): it must end up as the wanted tunnel, not deleted."""
    odd = tunnel('172.21.12.8', mark_ip='172.21.12.50')
    ports = by_name(odd)
    changes = tunnel_changes(SETTINGS, intent(('172.21.12.8',)), ports, TARGET)
    assert len(changes) == 2 and 'add-port' in changes[0].args   # no del-port after it
    assert 'bfd:enable=true' in changes[1].args
    after = apply(changes, ports)
    assert after == by_name(tunnel('172.21.12.8'))
    assert tunnel_changes(SETTINGS, intent(('172.21.12.8',)), after, TARGET) == []


def test_tunnels_on_another_bridge_are_not_ours_to_remove():
    ports = by_name(tunnel('172.21.12.9', bridge='br-other'))
    assert tunnel_changes(SETTINGS, intent(()), ports, TARGET) == []


def test_our_tunnel_made_before_bfd_gets_it_in_place_once():
    old = tunnel('172.21.12.8', bfd=())
    ports = by_name(old, tunnel('172.21.12.9'))
    changes = tunnel_changes(SETTINGS, intent(('172.21.12.8', '172.21.12.9')), ports, TARGET)
    # Set on the interface as it is: no del-port, so its ofport and the flows behind it stay.
    assert [c.args for c in changes] == [('set', 'interface', 'vxlan-ac150c08', 'bfd:enable=true',
                                          'bfd:min_rx=300', 'bfd:min_tx=300')]
    assert 'BFD on vxlan-ac150c08, every 300 ms' in changes[0].what
    after = apply(changes, ports)
    assert after['vxlan-ac150c08'] == tunnel('172.21.12.8')
    assert tunnel_changes(SETTINGS, intent(('172.21.12.8', '172.21.12.9')), after, TARGET) == []


def test_another_bfd_interval_is_set_in_place_and_other_bfd_keys_stay():
    mine = tunnel('172.21.12.8', bfd=(('enable', 'true'), ('min_rx', '1000'),
                                      ('min_tx', '100'), ('mult', '5')))
    fast = dataclasses.replace(SETTINGS, bfd_interval_ms=50)
    changes = tunnel_changes(fast, intent(('172.21.12.8',)), by_name(mine), TARGET)
    assert [c.args for c in changes] == [('set', 'interface', 'vxlan-ac150c08', 'bfd:enable=true',
                                          'bfd:min_rx=50', 'bfd:min_tx=50')]
    after = apply(changes, by_name(mine))
    assert dict(after['vxlan-ac150c08'].bfd) == {'enable': 'true', 'min_rx': '50',
                                                 'min_tx': '50', 'mult': '5'}


def test_bfd_interval_0_makes_tunnels_without_bfd_and_turns_it_off_on_ours():
    off = dataclasses.replace(SETTINGS, bfd_interval_ms=0)
    created = tunnel_changes(off, intent(('172.21.12.9',)), {}, TARGET)
    assert not any(a.startswith('bfd:') for a in created[0].args)
    ports = by_name(tunnel('172.21.12.8'))
    changes = tunnel_changes(off, intent(('172.21.12.8',)), ports, TARGET)
    assert [c.args for c in changes] == [('remove', 'interface', 'vxlan-ac150c08', 'bfd',
                                          'enable')]
    after = apply(changes, ports)
    assert 'enable' not in dict(after['vxlan-ac150c08'].bfd)
    assert tunnel_changes(off, intent(('172.21.12.8',)), after, TARGET) == []


def test_a_foreign_tunnel_without_bfd_is_left_without_it():
    foreign = tunnel('172.21.12.8', mark=False, bfd=())
    assert tunnel_changes(SETTINGS, intent(('172.21.12.8',)), by_name(foreign), TARGET) == []


# --- VM ports -----------------------------------------------------------------------------

BOUND = intent(vpcs=(Vpc(0x22, 3), Vpc(0x23, 4)),
               bindings=(PortBinding('p1', 0x22, MAC), PortBinding('p2', 0x23, MAC)))


def test_a_bound_port_gets_its_vpcs_vlan_and_the_vni_beside_it():
    ports = by_name(vm('qvo1', 'p1'), vm('tap2', 'p2', tag=DEAD_VLAN))
    changes = vm_port_changes(SETTINGS, BOUND, ports)
    assert [c.args for c in changes] == [
        ('set', 'port', 'qvo1', 'tag=3', 'other_config:%s=34' % VNI_MARK),
        ('set', 'port', 'tap2', 'tag=4', 'other_config:%s=35' % VNI_MARK)]
    assert 'p1' in changes[0].what and '0x22' in changes[0].what
    after = apply(changes, ports)
    assert after['qvo1'].tag == 3 and dict(after['qvo1'].other_config) == {VNI_MARK: '34'}


def test_a_port_whose_vni_mark_is_wrong_is_rewritten_even_on_the_right_tag():
    ports = by_name(vm('qvo1', 'p1', tag=3, vni=0x23))
    changes = vm_port_changes(SETTINGS, BOUND, ports)
    assert [c.args for c in changes] == [
        ('set', 'port', 'qvo1', 'tag=3', 'other_config:%s=34' % VNI_MARK)]


def test_unbound_ports_go_to_the_dead_vlan_and_lose_the_vni_mark():
    ports = by_name(vm('qvo1', 'p1', tag=3, vni=0x22),   # its record went
                    vm('qvo9', 'p9'),                     # no record yet
                    vm('qvo5', 'p5', tag=DEAD_VLAN, vni=7))   # dead but still marked
    changes = vm_port_changes(SETTINGS, intent(), ports)
    assert [c.args for c in changes] == [
        ('set', 'port', name, 'tag=%d' % DEAD_VLAN, '--', 'remove', 'port', name,
         'other_config', VNI_MARK) for name in ('qvo1', 'qvo5', 'qvo9')]
    assert all('no registry record' in c.what for c in changes)
    after = apply(changes, ports)
    assert {p.tag for p in after.values()} == {DEAD_VLAN}
    assert all(p.other_config == () for p in after.values())


def test_a_binding_whose_vpc_is_not_provisioned_is_dead():
    unprovisioned = intent(vpcs=(Vpc(0x22, 3),), bindings=(PortBinding('p1', 0x99, MAC),))
    changes = vm_port_changes(SETTINGS, unprovisioned, by_name(vm('qvo1', 'p1', tag=3, vni=34)))
    assert len(changes) == 1 and 'tag=4095' in changes[0].args
    assert 'VPC 0x99 not provisioned' in changes[0].what


def test_ports_without_iface_id_or_on_other_bridges_are_untouched():
    ports = by_name(vm('qvo1', None, tag=7),            # no iface-id (bootstrap's own)
                    vm('patch-tun', None),
                    vm('tap1', 'p1', bridge='br-ex'),    # other bridge, even if bound
                    tunnel('172.21.12.8'))
    assert vm_port_changes(SETTINGS, BOUND, ports) == []
    assert vm_port_changes(SETTINGS, intent(), ports) == []


def test_vm_port_changes_are_idempotent():
    ports = by_name(vm('qvo1', 'p1'), vm('qvo2', 'p2', tag=9, vni=1), vm('qvo3', 'p3', tag=4))
    after = apply(vm_port_changes(SETTINGS, BOUND, ports), ports)
    assert vm_port_changes(SETTINGS, BOUND, after) == []
    assert [after[n].tag for n in ('qvo1', 'qvo2', 'qvo3')] == [3, 4, DEAD_VLAN]


def test_already_right_ports_produce_no_change():
    ports = by_name(vm('qvo1', 'p1', tag=3, vni=0x22), vm('qvo9', 'p9', tag=DEAD_VLAN))
    assert vm_port_changes(SETTINGS, BOUND, ports) == []


# --- recovered_vlans ----------------------------------------------------------------------

def test_recovered_vlans_read_back_what_vm_port_changes_wrote():
    ports = by_name(vm('qvo1', 'p1'), vm('qvo2', 'p2'), vm('qvo3', 'p3'))
    after = apply(vm_port_changes(SETTINGS, BOUND, ports), ports)
    assert recovered_vlans(after, 'br-int') == {0x22: 3, 0x23: 4}
    # ... and after an unbinding the VNI no longer claims its VLAN.
    after = apply(vm_port_changes(SETTINGS, intent(), after), after)
    assert recovered_vlans(after, 'br-int') == {}


def test_recovered_vlans_ignore_unmarked_dead_foreign_and_other_bridge_ports():
    ports = by_name(vm('qvo1', 'p1', tag=3),                    # no VNI mark
                    vm('qvo2', 'p2', tag=DEAD_VLAN, vni=5),    # dead VLAN
                    vm('qvo3', 'p3', tag=None, vni=6),         # untagged
                    vm('qvo4', 'p4', tag=8, vni=7, bridge='br-x'),
                    OvsPort('qvo5', 'br-int', tag=9, other_config=((VNI_MARK, '0x22'),)),
                    vm('qvo6', 'p6', tag=10, vni=0x23))
    assert recovered_vlans(ports, 'br-int') == {0x23: 10}


def test_recovered_vlans_keep_the_first_port_by_name_for_a_vni():
    ports = by_name(vm('qvob', 'p2', tag=5, vni=0x22), vm('qvoa', 'p1', tag=4, vni=0x22))
    assert recovered_vlans(ports, 'br-int') == {0x22: 4}
