"""br-tun table numbers, named once. Numbers and roles follow Neutron's OVS agent."""

LOCAL_SWITCHING = 0    # classify by in_port: from br-int -> 2, from a tunnel -> 4
PATCH_LV_TO_TUN = 2    # from br-int: unicast -> 20, multicast/broadcast -> 22
GRE_TUN_TO_LV = 3      # GRE tunnels: unused here, drop
VXLAN_TUN_TO_LV = 4    # from a tunnel: VNI -> local VLAN, then learn (10)
DVR_NOT_LEARN = 6      # DVR: unused here, drop
LEARN_FROM_TUN = 10    # learn the sender's MAC into 20, then deliver to br-int
UCAST_TO_TUN = 20      # unicast: registry ports (priority 2), learned (1); else flood (22)
ARP_RESPONDER = 21     # ARP requests for remote ports' IPs answered here; others on to 22
FLOOD_TO_TUN = 22      # per VPC: strip local VLAN, set VNI, flood to its tunnels

ALL = (LOCAL_SWITCHING, PATCH_LV_TO_TUN, GRE_TUN_TO_LV, VXLAN_TUN_TO_LV, DVR_NOT_LEARN,
       LEARN_FROM_TUN, UCAST_TO_TUN, ARP_RESPONDER, FLOOD_TO_TUN)
# {table: its name above}, as REST, the web page and the trace print them. (Read by
# name: the priorities below share small numbers with tables.)
NAMES = {globals()[name]: name for name in (
    'LOCAL_SWITCHING', 'PATCH_LV_TO_TUN', 'GRE_TUN_TO_LV', 'VXLAN_TUN_TO_LV', 'DVR_NOT_LEARN',
    'LEARN_FROM_TUN', 'UCAST_TO_TUN', 'ARP_RESPONDER', 'FLOOD_TO_TUN')}

# Priorities inside a table, where more than one kind of flow shares it.
UCAST_POPULATED = 2    # table 20: l2population's entries win over learned ones
UCAST_LEARNED = 1      # table 20: what learn() writes (table 10 says so)
ARP_TO_RESPONDER = 1   # table 2: broadcast ARP goes to 21 before the multicast flood
ARP_ANSWER = 1         # table 21: one answer per remote port IP
