"""``trace``: ofproto/trace of br-tun from simple terms, explained with our table names.

request (terms -> ofproto/trace flow), parse (trace text -> hops), explain (hops joined
with the flows the switch holds, in our text format), verdict (where the packet ends) are
pure; ovs runs ovs-appctl and ovs-vsctl (argv lists, validated names only).
"""
