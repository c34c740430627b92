"""A node's intent: local VLAN allocation, the intent from a fleet, and its change text."""
import pytest

from ryu_vxlan_vpc.config import Settings
from ryu_vxlan_vpc.core.intent import describe_change, from_fleet, from_settings
from ryu_vxlan_vpc.model import VLAN_MAX, Intent, PortBinding, Vpc, allocate_vlans
from ryu_vxlan_vpc.registry.records import Fleet, NodeRecord, PortRecord, VpcRecord

ME, ME_IP = 'compute1', '172.21.12.7'


def fleet(nodes=(), vpcs=(), ports=()):
    """nodes: (name, ip); vpcs: vni; ports: (node, port_id, vni[, mac])."""
    return Fleet(nodes={n: NodeRecord(n, ip) for n, ip in nodes},
                 vpcs={v: VpcRecord(v, 'vpc%d' % v, None) for v in vpcs},
                 ports=tuple(PortRecord(p[0], p[1], p[2],
                                        p[3] if len(p) > 3 else 'fa:16:3e:00:00:01', None)
                             for p in sorted(ports)))


# --- allocate_vlans -----------------------------------------------------------------------

def test_new_vnis_get_the_lowest_free_vlans_in_vni_order():
    assert allocate_vlans({0x300, 0x22, 0x100}, {}) == ({0x22: 1, 0x100: 2, 0x300: 3}, ())


def test_allocation_is_stable_when_fed_its_own_result():
    first, _ = allocate_vlans({5, 6, 7}, {})
    again, left_out = allocate_vlans({5, 6, 7}, first)
    assert again == first and left_out == ()


def test_a_removed_vni_frees_its_vlan_for_the_next_new_one():
    vlans, _ = allocate_vlans({5, 6, 7}, {})
    vlans, _ = allocate_vlans({5, 7}, vlans)
    assert vlans == {5: 1, 7: 3}
    vlans, _ = allocate_vlans({5, 7, 9}, vlans)
    assert vlans == {5: 1, 7: 3, 9: 2}


def test_previous_mapping_is_kept_even_when_lower_vlans_are_free():
    vlans, _ = allocate_vlans({0x22, 0x23}, {0x22: 12, 0x99: 1})
    assert vlans == {0x22: 12, 0x23: 1}   # 0x99 is gone, its VLAN 1 is free again


def test_out_of_range_previous_vlans_are_reallocated():
    vlans, _ = allocate_vlans({1, 2}, {1: 0, 2: 4095})
    assert vlans == {1: 1, 2: 2}


def test_duplicate_vlans_in_previous_keep_the_smaller_vni_and_move_the_other():
    vlans, left_out = allocate_vlans({10, 20, 30}, {20: 5, 10: 5, 30: 1})
    assert vlans == {10: 5, 30: 1, 20: 2} and left_out == ()
    assert len(set(vlans.values())) == len(vlans)


def test_more_vnis_than_vlans_leaves_the_rest_out_and_reports_them():
    vnis = set(range(1000, 1000 + VLAN_MAX + 3))
    vlans, left_out = allocate_vlans(vnis, {1000 + VLAN_MAX + 2: 7})
    assert len(vlans) == VLAN_MAX and sorted(set(vlans.values())) == list(range(1, 4095))
    assert vlans[1000 + VLAN_MAX + 2] == 7      # a known VNI keeps its VLAN
    # 4097 VNIs, one kept: 4096 new ones for 4093 free VLANs, the 3 highest left out.
    assert left_out == (1000 + VLAN_MAX - 1, 1000 + VLAN_MAX, 1000 + VLAN_MAX + 1)
    assert not set(left_out) & set(vlans)


# --- from_settings ------------------------------------------------------------------------

def test_file_mode_intent_is_the_configured_vpcs_and_tunnels():
    settings = Settings(ME_IP, ('172.21.12.9', '172.21.12.8'), (Vpc(0x22, 12),))
    intent = from_settings(settings)
    assert intent == Intent(vpcs=(Vpc(0x22, 12),), remote_ips=('172.21.12.8', '172.21.12.9'))
    assert not intent.manage_ports and intent.bindings == ()


# --- from_fleet ---------------------------------------------------------------------------

def test_remote_ips_are_every_other_node_and_never_this_one():
    f = fleet(nodes=[(ME, ME_IP), ('compute2', '172.21.12.8'), ('compute3', '172.21.12.10')])
    intent, notes = from_fleet(f, ME, ME_IP, {})
    assert intent.remote_ips == ('172.21.12.8', '172.21.12.10') and notes == []
    assert intent.manage_ports


def test_a_node_under_another_name_with_our_local_ip_is_not_a_tunnel():
    f = fleet(nodes=[(ME, ME_IP), ('alias', ME_IP), ('compute2', '172.21.12.8')])
    intent, _ = from_fleet(f, ME, ME_IP, {})
    assert intent.remote_ips == ('172.21.12.8',)


def test_bindings_are_only_this_nodes_ports_and_provision_their_vpcs():
    f = fleet(nodes=[(ME, ME_IP), ('compute2', '172.21.12.8')], vpcs=[0x22, 0x23, 0x24],
              ports=[(ME, 'p1', 0x22, 'fa:16:3e:00:00:01'), (ME, 'p2', 0x22, 'fa:16:3e:00:00:02'),
                     ('compute2', 'p3', 0x23)])
    intent, _ = from_fleet(f, ME, ME_IP, {})
    assert [(b.port_id, b.vni, b.mac) for b in intent.bindings] == [
        ('p1', 0x22, 'fa:16:3e:00:00:01'), ('p2', 0x22, 'fa:16:3e:00:00:02')]
    # 0x23 only has a port elsewhere, 0x24 none at all: neither is provisioned here.
    assert intent.vpcs == (Vpc(0x22, 1),)


def test_a_vpc_stays_provisioned_only_while_this_node_hosts_a_port_of_it():
    nodes = [(ME, ME_IP)]
    one, _ = from_fleet(fleet(nodes, [0x22, 0x23], [(ME, 'p1', 0x22), (ME, 'p2', 0x23)]),
                        ME, ME_IP, {})
    assert one.vpcs == (Vpc(0x22, 1), Vpc(0x23, 2))
    previous = {v.vni: v.local_vlan for v in one.vpcs}
    two, _ = from_fleet(fleet(nodes, [0x22, 0x23], [(ME, 'p2', 0x23)]), ME, ME_IP, previous)
    assert two.vpcs == (Vpc(0x23, 2),)   # 0x23 keeps its VLAN; 0x22 is gone
    previous = {v.vni: v.local_vlan for v in two.vpcs}
    three, _ = from_fleet(fleet(nodes, [0x22, 0x23, 0x30], [(ME, 'p2', 0x23), (ME, 'p4', 0x30)]),
                          ME, ME_IP, previous)
    assert three.vpcs == (Vpc(0x23, 2), Vpc(0x30, 1))   # VLAN 1 reused


def test_previous_vlans_recovered_from_ovsdb_are_kept():
    f = fleet([(ME, ME_IP)], [0x22], [(ME, 'p1', 0x22)])
    intent, _ = from_fleet(f, ME, ME_IP, {0x22: 12, 0x99: 13})
    assert intent.vpcs == (Vpc(0x22, 12),)


def test_missing_node_is_noted_and_its_ports_elsewhere_still_give_tunnels():
    f = fleet(nodes=[('compute2', '172.21.12.8')], vpcs=[0x22], ports=[('compute2', 'p', 0x22)])
    intent, notes = from_fleet(f, ME, ME_IP, {})
    assert intent.remote_ips == ('172.21.12.8',) and intent.vpcs == () and intent.bindings == ()
    assert len(notes) == 1 and repr(ME) in notes[0] and 'not in the registry' in notes[0]


def test_local_ip_mismatch_is_noted_and_the_config_wins():
    f = fleet(nodes=[(ME, '172.21.12.99'), ('compute2', '172.21.12.8')])
    intent, notes = from_fleet(f, ME, ME_IP, {})
    assert intent.remote_ips == ('172.21.12.8',)   # our own record is no tunnel either way
    assert len(notes) == 1
    assert '172.21.12.99' in notes[0] and ME_IP in notes[0] and 'config wins' in notes[0]


def test_vnis_beyond_the_vlan_space_are_noted():
    vnis = range(1, VLAN_MAX + 2)
    f = fleet([(ME, ME_IP)], vnis, [(ME, 'p%d' % v, v) for v in vnis])
    intent, notes = from_fleet(f, ME, ME_IP, {})
    assert len(intent.vpcs) == VLAN_MAX
    assert notes == ['VNI %#x not provisioned: all 4094 local VLANs are in use' % (VLAN_MAX + 1)]


def test_equal_fleets_give_equal_intents():
    ports = [(ME, 'b', 0x23), (ME, 'a', 0x22)]
    a, _ = from_fleet(fleet([(ME, ME_IP), ('x', '10.0.0.2')], [0x22, 0x23], ports), ME, ME_IP, {})
    b, _ = from_fleet(fleet([('x', '10.0.0.2'), (ME, ME_IP)], [0x23, 0x22], ports[::-1]),
                      ME, ME_IP, {})
    assert a == b


# --- describe_change ----------------------------------------------------------------------

def test_first_intent_is_described_whole():
    new = Intent(vpcs=(Vpc(0x22, 12),), remote_ips=('172.21.12.8',),
                 bindings=(PortBinding('p1', 0x22, 'fa:16:3e:00:00:01'),))
    assert describe_change(None, new) == (
        'intent: VPCs 0x22 (local VLAN 12); remote VTEPs 172.21.12.8; 1 VM ports bound')
    assert describe_change(None, Intent()) == (
        'intent: VPCs none; remote VTEPs none; 0 VM ports bound')


def test_change_lists_what_was_added_and_removed():
    old = Intent(vpcs=(Vpc(0x22, 12),), remote_ips=('172.21.12.8',),
                 bindings=(PortBinding('p1', 0x22, 'fa:16:3e:00:00:01'),))
    new = Intent(vpcs=(Vpc(0x22, 12), Vpc(0x23, 13)), remote_ips=('172.21.12.9',),
                 bindings=())
    assert describe_change(old, new) == (
        'VPC added: 0x23 (local VLAN 13); remote VTEP added: 172.21.12.9; '
        'remote VTEP removed: 172.21.12.8; VM port removed: p1 in 0x22')


def test_a_vlan_change_reads_as_remove_and_add():
    text = describe_change(Intent(vpcs=(Vpc(0x22, 12),)), Intent(vpcs=(Vpc(0x22, 13),)))
    assert text == 'VPC added: 0x22 (local VLAN 13); VPC removed: 0x22 (local VLAN 12)'


@pytest.mark.parametrize('intent', [Intent(), Intent(vpcs=(Vpc(1, 2),), remote_ips=('10.0.0.1',))])
def test_no_change(intent):
    assert describe_change(intent, intent) == 'no change'
