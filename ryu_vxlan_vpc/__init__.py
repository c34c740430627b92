"""Ryu controller application for a Neutron-style VXLAN VPC overlay on Open vSwitch.

Kept import-free: ``ryu_vxlan_vpc_eventlet_compat.pth`` imports a submodule at every
interpreter start-up inside the virtualenv.
"""
