"""Registry records: validators, key layout, and parse_fleet on hostile content."""
import json

import pytest

from ryu_vxlan_vpc.registry import records as R
from ryu_vxlan_vpc.registry.records import (
    Fleet, NodeRecord, PortRecord, RecordError, VpcRecord, fleet_to_json, node_key, node_value,
    parse_cidr, parse_fleet, parse_ipv4, parse_mac, parse_node_name, parse_port_id, parse_vni,
    port_key, port_value, vpc_key, vpc_value)

P = '/ryu-vxlan-vpc'


@pytest.mark.parametrize('text, vni', [('0x22', 34), ('34', 34), (' 0X22 ', 34), ('1', 1),
                                       ('16777215', 16777215), ('0xffffff', 16777215), (7, 7)])
def test_vni_hex_or_decimal(text, vni):
    assert parse_vni(text) == vni


@pytest.mark.parametrize('text', ['0', '0x0', '16777216', '0x1000000', '-1', 'abc', '', '3.5',
                                  True])
def test_vni_refused_naming_value(text):
    with pytest.raises(RecordError, match='vni') as e:
        parse_vni(text)
    assert str(text).strip() in str(e.value)


def test_mac_normalised_and_refused():
    assert parse_mac('FA:16:3E:00:00:01') == 'fa:16:3e:00:00:01'
    for bad in ('fa:16:3e:00:00', 'fa-16-3e-00-00-01', 'zz:16:3e:00:00:01',
                '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00', None):
        with pytest.raises(RecordError, match='mac') as e:
            parse_mac(bad)
        assert repr(bad) in str(e.value)


def test_ipv4():
    assert parse_ipv4('172.21.12.8', 'local_ip') == '172.21.12.8'
    for bad in ('0.0.0.0', '224.0.0.1', '255.255.255.255', '1.2.3', 'fe80::1', '', 5, None):
        with pytest.raises(RecordError, match='local_ip') as e:
            parse_ipv4(bad, 'local_ip')
        assert str(bad) in str(e.value)


def test_names_and_cidr():
    assert parse_node_name('compute-1.rack_2') == 'compute-1.rack_2'
    assert parse_port_id('0e4e1a62-9d1b') == '0e4e1a62-9d1b'
    for bad in ('', '-x', 'a/b', 'a b', 'x' * 64):
        with pytest.raises(RecordError, match='node'):
            parse_node_name(bad)
    for bad in ('', '_x', 'a.b', 'a/b', 'x' * 65):
        with pytest.raises(RecordError, match='port_id'):
            parse_port_id(bad)
    assert parse_cidr('192.168.10.0/24') == '192.168.10.0/24'
    for bad in ('192.168.10.1/24', '192.168.10.0', '192.168.10.0/33', 'fe80::/64', 'x'):
        with pytest.raises(RecordError, match='cidr') as e:
            parse_cidr(bad)
        assert bad in str(e.value)


def kvs_of(*records):
    out = {}
    for rec in records:
        if isinstance(rec, NodeRecord):
            out[node_key(P, rec.name)] = node_value(rec).encode()
        elif isinstance(rec, VpcRecord):
            out[vpc_key(P, rec.vni)] = vpc_value(rec)
        else:
            out[port_key(P, rec.node, rec.port_id)] = port_value(rec).encode()
    return out


GOOD = (NodeRecord('c1', '172.21.12.163'), NodeRecord('c2', '172.21.12.8'),
        VpcRecord(34, 'test', '192.168.10.0/24'), VpcRecord(35),
        PortRecord('c1', 'p1', 34, 'fa:16:3e:00:00:01', '192.168.10.11'),
        PortRecord('c2', 'p2', 35, 'fa:16:3e:00:00:02'))


def test_round_trip():
    fleet, problems = parse_fleet(P, kvs_of(*GOOD))
    assert problems == []
    assert fleet == Fleet({'c1': GOOD[0], 'c2': GOOD[1]}, {34: GOOD[2], 35: GOOD[3]},
                          (GOOD[4], GOOD[5]))
    assert node_key(P + '/', 'c1') == '/ryu-vxlan-vpc/nodes/c1'
    doc = fleet_to_json(fleet)
    assert json.loads(json.dumps(doc)) == doc
    assert doc['vpcs'][0] == {'vni': 34, 'name': 'test', 'cidr': '192.168.10.0/24'}
    assert doc['ports'][1] == {'node': 'c2', 'port_id': 'p2', 'vni': 35,
                               'mac': 'fa:16:3e:00:00:02', 'ip': None}


BAD = {
    P + '/nodes/n1': (b'{"local_ip": ', 'not JSON'),
    P + '/nodes/n2': (b'["172.0.0.1"]', 'not a JSON object'),
    P + '/nodes/n3': (b'{}', 'local_ip is missing'),
    P + '/nodes/n4': (b'{"local_ip": "224.0.0.9"}', '224.0.0.9'),
    P + '/nodes/n5': (b'\xff\xfe', 'UTF-8'),
    P + '/nodes/-bad': (b'{"local_ip": "10.9.9.9"}', "'-bad'"),
    P + '/vpcs/034': (b'{}', "'034'"),
    P + '/vpcs/0x22': (b'{}', "'0x22'"),
    P + '/vpcs/16777216': (b'{}', '16777216'),
    P + '/vpcs/36': (b'{"cidr": "10.0.0.1/8"}', '10.0.0.1/8'),
    P + '/ports/c1/q1': (b'{"vni": "34", "mac": "fa:16:3e:00:00:09"}', 'JSON integer'),
    P + '/ports/c1/q2': (b'{"vni": 34}', 'mac is missing'),
    P + '/ports/c1/q3': (b'{"vni": 34, "mac": "fa:16:3e:00:00:09", "ip": "x"}', "'x'"),
    P + '/ports/c9/q4': (b'{"vni": 34, "mac": "fa:16:3e:00:00:09"}', 'node c9'),
    P + '/ports/c1/q5': (b'{"vni": 99, "mac": "fa:16:3e:00:00:09"}', 'VPC 99'),
    P + '/ports/c1': (b'{}', 'does not match'),
    P + '/other/thing': (b'{}', 'does not match'),
}


def test_malformed_records_skipped_and_reported():
    kvs = kvs_of(*GOOD)
    kvs.update({k: v for k, (v, _) in BAD.items()})
    fleet, problems = parse_fleet(P, kvs)
    assert fleet == parse_fleet(P, kvs_of(*GOOD))[0]
    reasons = dict(problems)
    assert set(reasons) == set(BAD)
    for key, (_, expected) in BAD.items():
        assert expected in reasons[key], (key, reasons[key])


def test_duplicate_local_ip_smallest_name_wins_and_its_ports_go():
    kvs = kvs_of(NodeRecord('b', '10.0.0.1'), NodeRecord('a', '10.0.0.1'), VpcRecord(34),
                 PortRecord('b', 'p', 34, 'fa:16:3e:00:00:01'))
    fleet, problems = parse_fleet(P, kvs)
    assert set(fleet.nodes) == {'a'} and not fleet.ports
    reasons = dict(problems)
    assert 'already used by node a' in reasons[P + '/nodes/b']
    assert 'node b is not in the registry' in reasons[P + '/ports/b/p']


def test_str_values_and_upper_case_mac_accepted():
    fleet, problems = parse_fleet(P, {
        P + '/nodes/c1': '{"local_ip": "10.0.0.1", "future_field": 1}',
        P + '/vpcs/34': '{"name": null}',
        P + '/ports/c1/p1': '{"vni": 34, "mac": "FA:16:3E:00:00:01", "ip": null}'})
    assert problems == []
    assert fleet.ports == (PortRecord('c1', 'p1', 34, 'fa:16:3e:00:00:01'),)


def test_a_bad_records_error_is_returned_fresh_without_a_traceback():
    """The follower keeps it as long as the record stays bad: a traceback's frames would
    pin whatever the parse was called with (a whole registry read)."""
    error = R.parse_or_error('/p', '/p/ports/compute1/bad', '{"vni": 34, "mac": "not-a-mac"}')
    assert isinstance(error, R.RecordError) and 'not-a-mac' in str(error)
    assert error.__traceback__ is None
    assert error.__context__ is None and error.__cause__ is None
    good = R.parse_or_error('/p', '/p/vpcs/34', '{"name": "blue"}')
    assert good == R.VpcRecord(34, 'blue')
