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


def ryu_name(name):
    try:
        return RYU_NAME[name]
    except KeyError:
        raise ValueError('field %s has no Ryu mapping' % name) from None


def ofctl_name(ryu):
    return OFCTL_NAME.get(ryu, ryu)
