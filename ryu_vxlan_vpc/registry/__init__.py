"""The fleet registry: nodes, VPCs and VM ports kept in etcd, shared by every controller.

records (pure: layout, validation, parsing), etcd (the client), follow (the watch loop a
controller runs), fleet + command (the operator's ``ryu-vxlan-vpc fleet`` CLI).
"""
