"""Flows other tools put on br-tun: read, printed like ovs-ofctl, and deletable exactly.

Pure: Ryu's OpenFlow 1.3 parser objects are built in memory, nothing is sent.
"""
import pytest
from ryu.ofproto import ofproto_v1_3_parser as parser

from ryu_vxlan_vpc.flows import model as m
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.ofp import decode, encode
from ryu_vxlan_vpc.rest import views


def _serialized(ofp_match):
    buf = bytearray()
    ofp_match.serialize(buf, 0)
    return bytes(buf)


@pytest.mark.parametrize('fields, printed', [
    ({'eth_type': 0x0800, 'ipv4_src': ('10.0.0.0', '255.0.0.0')},
     'ip,nw_src=10.0.0.0/8'),
    ({'eth_type': 0x0800, 'ipv4_dst': ('10.0.1.0', '255.0.255.0')},
     'ip,nw_dst=10.0.1.0/255.0.255.0'),
    ({'in_port': 0xfffffffe, 'eth_type': 0x0806, 'arp_tpa': '192.168.10.12'},
     'arp,in_port=LOCAL,arp_tpa=192.168.10.12'),
    ({'eth_type': 0x0800, 'ip_proto': 6, 'tcp_dst': 80}, 'tcp,tp_dst=80'),
    ({'eth_type': 0x88cc}, 'dl_type=0x88cc'),
    ({'reg3': (0x5, 0xff)}, 'reg3=0x5/0xff'),
])
def test_unmodelled_match_fields_print_and_encode_back(fields, printed):
    original = parser.OFPMatch(**fields)
    read = decode.match(original)
    assert text.match_text(read, m.DEFAULT_PRIORITY) == printed
    # The app deletes stale flows of its own cookie strictly: the match must go back as read.
    assert _serialized(encode.match(parser, read)) == _serialized(original)
    # The REST view is built from the same fields, not by re-parsing text.
    view = views.match_view(m.Flow(table=30, priority=5, match=read, actions=()))
    assert ','.join(k if v is True else '%s=%s' % (k, v) for k, v in view.items()) == printed


@pytest.mark.parametrize('action, printed', [
    (parser.NXActionResubmitTable(in_port=3, table_id=5), 'resubmit(3,5)'),
    (parser.NXActionResubmit(in_port=3), 'resubmit:3'),
    (parser.NXActionRegLoad(ofs_nbits=(0 << 6) | 31, dst='reg0', value=5),
     'load:0x5->NXM_NX_REG0[]'),
    (parser.OFPActionOutput(0xfffffffa), 'NORMAL'),    # OVS names reserved ports bare
])
def test_other_actions_print_like_ovs_ofctl(action, printed):
    assert text.actions_text(decode.actions([action])) == printed
