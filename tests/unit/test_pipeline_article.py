"""The computed br-tun pipeline equals the article's two dump-flows listings, line for line."""
import pathlib

import pytest

from ryu_vxlan_vpc.config import Vpc
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.pipeline import br_tun, tables

DATA = pathlib.Path(__file__).parent / 'data'

# Port numbers as the article's `ovs-ofctl show br-tun` gives them.
ARTICLE_NODES = {
    'compute1': br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=(8,),
                                  vpcs=(Vpc(0x22, 12),)),
    'compute2': br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=(7,),
                                  vpcs=(Vpc(0x22, 22),)),
}


@pytest.mark.parametrize('node', sorted(ARTICLE_NODES))
def test_pipeline_matches_article_listing(node):
    listing = (DATA / ('article_%s_dump_flows.txt' % node)).read_text()
    expected = text.parse_dump(listing)
    assert len(expected) == 13
    got = [text.render(flow) for flow in br_tun.build(ARTICLE_NODES[node])]
    assert got == expected


def test_every_table_of_the_article_is_built_once():
    # The article has no ARP responder: table 21 is empty without the option.
    flows = br_tun.build(ARTICLE_NODES['compute1'])
    assert sorted({f.table for f in flows}) == sorted(set(tables.ALL) - {tables.ARP_RESPONDER})
    assert len({(f.table, f.priority, f.match) for f in flows}) == len(flows)
    assert {f.cookie for f in flows} == {0x79}


def test_tunnels_and_vpcs_fan_out():
    state = br_tun.BrTunState(patch_int_ofport=3, tunnel_ofports=(9, 5),
                              vpcs=(Vpc(0x22, 12), Vpc(100, 13)), flow_cookie=0x5)
    lines = [text.render(f) for f in br_tun.build(state)]
    assert 'cookie=0x5, table=0, priority=1,in_port=5 actions=resubmit(,4)' in lines
    assert 'cookie=0x5, table=0, priority=1,in_port=9 actions=resubmit(,4)' in lines
    assert ('cookie=0x5, table=4, priority=1,tun_id=0x64 actions=mod_vlan_vid:13,'
            'resubmit(,10)') in lines
    assert ('cookie=0x5, table=22, dl_vlan=12 actions=strip_vlan,set_tunnel:0x22,'
            'output:5,output:9') in lines
    assert ('cookie=0x5, table=22, dl_vlan=13 actions=strip_vlan,set_tunnel:0x64,'
            'output:5,output:9') in lines
    assert any('output:3' in line for line in lines if 'table=10,' in line)


def test_no_tunnel_means_no_flood_flow_and_no_tunnel_classifier():
    state = br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=(), vpcs=(Vpc(0x22, 12),))
    flows = br_tun.build(state)
    assert [f for f in flows if f.table == tables.FLOOD_TO_TUN and f.actions] == []
    assert [f.match.in_port for f in flows if f.table == tables.LOCAL_SWITCHING] == [1, None]


def test_state_ignores_tunnel_order():
    a = br_tun.BrTunState(1, (8, 7), (Vpc(1, 2),))
    b = br_tun.BrTunState(1, (7, 8, 8), (Vpc(1, 2),))
    assert a == b and br_tun.build(a) == br_tun.build(b)
