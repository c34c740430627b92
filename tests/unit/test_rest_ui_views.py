"""The pure views behind the web page: tables (flows per table) and the fleet snapshot."""
from ryu_vxlan_vpc.pipeline import tables
from ryu_vxlan_vpc.registry.records import Fleet, NodeRecord, PortRecord, VpcRecord
from ryu_vxlan_vpc.rest import views


def test_tables_view_names_every_pipeline_table_and_keeps_foreign_ones():
    rows = views.tables_view(0x10, {0: 2, 20: 3, 99: 1})
    assert [r['table'] for r in rows] == sorted(tables.ALL) + [99]
    by_table = {r['table']: r for r in rows}
    assert by_table[20] == {'dpid': '0000000000000010', 'table': 20, 'name': 'UCAST_TO_TUN',
                            'flows': 3}
    assert by_table[22]['name'] == 'FLOOD_TO_TUN' and by_table[22]['flows'] == 0
    assert by_table[2]['name'] == 'PATCH_LV_TO_TUN'   # not a priority that is also 2
    assert by_table[99] == {'dpid': '0000000000000010', 'table': 99, 'name': None, 'flows': 1}


def test_table_names_are_the_constants_of_pipeline_tables():
    assert set(tables.NAMES) == set(tables.ALL)
    for number, name in tables.NAMES.items():
        assert getattr(tables, name) == number


def test_fleet_view_counts_ports_per_node_and_vpc():
    fleet = Fleet(
        nodes={'compute1': NodeRecord('compute1', '172.21.12.163'),
               'compute2': NodeRecord('compute2', '172.21.12.8'),
               'compute3': NodeRecord('compute3', '172.21.12.9')},
        vpcs={0x22: VpcRecord(0x22, 'blue', '192.168.10.0/24'), 0x23: VpcRecord(0x23)},
        ports=(PortRecord('compute1', 'p1', 0x22, 'fa:16:3e:00:00:01'),
               PortRecord('compute1', 'p2', 0x22, 'fa:16:3e:00:00:02'),
               PortRecord('compute2', 'p3', 0x22, 'fa:16:3e:00:00:03', '192.168.10.12')))
    view = views.fleet_view(fleet, 42, 'compute2')
    assert view['registry'] is True and view['revision'] == 42 and view['node'] == 'compute2'
    assert view['nodes'] == [
        {'name': 'compute1', 'local_ip': '172.21.12.163', 'this_node': False,
         'vpcs': ['0x22'], 'ports': 2},
        {'name': 'compute2', 'local_ip': '172.21.12.8', 'this_node': True,
         'vpcs': ['0x22'], 'ports': 1},
        {'name': 'compute3', 'local_ip': '172.21.12.9', 'this_node': False,
         'vpcs': [], 'ports': 0}]
    assert view['vpcs'] == [
        {'vni': 0x22, 'vni_hex': '0x22', 'name': 'blue', 'cidr': '192.168.10.0/24',
         'nodes': ['compute1', 'compute2'], 'ports': 3},
        {'vni': 0x23, 'vni_hex': '0x23', 'name': None, 'cidr': None, 'nodes': [], 'ports': 0}]


def test_fleet_view_of_an_empty_registry():
    assert views.fleet_view(Fleet(), 1, 'compute1') == {
        'registry': True, 'revision': 1, 'node': 'compute1', 'nodes': [], 'vpcs': []}


def test_fleet_view_without_a_registry_is_an_empty_fleet():
    assert views.fleet_view(None, None, None) == {
        'registry': False, 'revision': None, 'node': None, 'nodes': [], 'vpcs': []}
