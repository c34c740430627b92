"""NXM/OXM field names as ovs-ofctl prints them, mapped to Ryu's field names."""

# ovs-ofctl name -> Ryu name. Ryu's "*_nxm" names are the NXM (Nicira) encodings.
RYU_NAME = {
    'NXM_OF_IN_PORT': 'in_port_nxm',
    'NXM_OF_VLAN_TCI': 'vlan_tci',
    'NXM_OF_ETH_SRC': 'eth_src_nxm',
    'NXM_OF_ETH_DST': 'eth_dst_nxm',
    'NXM_NX_TUN_ID': 'tunnel_id_nxm',
    'OXM_OF_IN_PORT': 'in_port',
    'OXM_OF_ETH_SRC': 'eth_src',
    'OXM_OF_ETH_DST': 'eth_dst',
    'OXM_OF_TUNNEL_ID': 'tunnel_id',
}
RYU_NAME.update(('NXM_NX_REG%d' % i, 'reg%d' % i) for i in range(16))
OFCTL_NAME = {ryu: ofctl for ofctl, ryu in RYU_NAME.items()}

# move (reg_move) fields: sent with their OXM names; OVS prints the NXM name whichever
# header it got, and (3.1) answers a dump in OpenFlow 1.3 with the NXM header. Both read
# back as the NXM name, so a flow compares equal to itself after a round trip.
MOVE_RYU_NAME = {
    'NXM_OF_ETH_SRC': 'eth_src', 'NXM_OF_ETH_DST': 'eth_dst',
    'NXM_OF_ARP_OP': 'arp_op', 'NXM_OF_ARP_SPA': 'arp_spa', 'NXM_OF_ARP_TPA': 'arp_tpa',
    'NXM_NX_ARP_SHA': 'arp_sha', 'NXM_NX_ARP_THA': 'arp_tha',
}
MOVE_OFCTL_NAME = dict({ryu: nxm for nxm, ryu in MOVE_RYU_NAME.items()},
                       **{ryu + '_nxm': nxm for nxm, ryu in MOVE_RYU_NAME.items()})


def move_ryu_name(name):
    try:
        return MOVE_RYU_NAME[name]
    except KeyError:
        raise ValueError('move of field %s is not modelled' % name) from None


def ryu_name(name):
    try:
        return RYU_NAME[name]
    except KeyError:
        raise ValueError('field %s has no Ryu mapping' % name) from None


def ofctl_name(ryu):
    return OFCTL_NAME.get(ryu, ryu)
