"""``GET /vxlan-vpc/trace?node_port=|tunnel=&vpc=&dst=[&src=][&arp=][&dpid=]``: a packet
traced through br-tun by ovs-vswitchd itself (ofproto/trace), explained in our terms.

The terms are checked (400 naming the field) against what this node has: a tunnel port
of br-tun, or a VM port on br-int tagged with the VPC's local VLAN here (trace.request
says what each term means). ovs-vswitchd unreachable or a switch not answering: 503.
"""
import os

from ryu.app.wsgi import ControllerBase, route

from ..model import remote_ip_of_port
from ..trace import explain, ovs, parse, request
from ..trace.verdict import verdict
from .api import (APP_KEY, PREFIX, RestError, _json, _params, chosen_switches,
                  handles_errors)
from .views import dpid_text

PARAMS = set(request.FIELDS) | {'dpid'}


class TraceRest(ControllerBase):
    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.app = data[APP_KEY]

    @route('vxlan_vpc_trace', PREFIX + '/trace', methods=['GET'])
    @handles_errors
    def trace(self, req, **_):
        params = _params(req, PARAMS)
        try:
            terms = request.parse_terms(dict(params))
        except request.TermError as exc:
            raise RestError(400, str(exc))
        switch = self._switch(params.get('dpid'))
        settings = self.app.settings
        vlan = self.app.intent.vlan_of(terms.vni) if self.app.intent is not None else None
        if terms.tunnel is not None:
            in_port, flow, src = self._from_tunnel(switch, terms)
        else:
            in_port, flow, src = self._from_vm(switch, terms, vlan)
        try:
            socket = ovs.vswitchd_socket(ovs.rundir_of(settings.ovsdb_connection, os.environ))
            traced = parse.parse(ovs.trace(socket, settings.tun_bridge, flow))
        except ovs.OvsUnavailable as exc:
            raise RestError(503, str(exc))
        except parse.TraceFormatError as exc:
            raise RestError(503, 'ofproto/trace printed what this version cannot read: %s'
                            % exc)
        hops = traced.bridge_hops(settings.tun_bridge)
        try:  # only the tables the packet went through: a trace never holds a whole dump
            flows = [s.flow for table in sorted({h.table for h in hops})
                     for s in self.app.dump_flows(switch.dpid, table=table)]
        except Exception as exc:
            raise RestError(503, 'switch %s did not answer the flow-stats request: %s'
                            % (dpid_text(switch.dpid), exc))
        ports = explain.Ports(switch.ports, settings.patch_int_port, in_port)
        return _json({
            'dpid': dpid_text(switch.dpid), 'bridge': settings.tun_bridge,
            'terms': {'node_port': terms.node_port, 'tunnel': terms.tunnel,
                      'vni': terms.vni, 'vni_hex': '%#x' % terms.vni, 'local_vlan': vlan,
                      'src': src, 'dst': terms.dst, 'arp': terms.arp},
            'in_port': ports.view(in_port), 'flow': flow,
            'command': ['ovs-appctl', 'ofproto/trace', settings.tun_bridge, flow],
            'hops': [explain.describe(h, flows, ports, settings.learn_cookie,
                                      settings.flow_cookie) for h in hops],
            'beyond': [explain.other_bridge(h) for h in traced.hops
                       if h.bridge != settings.tun_bridge],
            'verdict': verdict(hops, ports, terms.vni, vlan),
            'datapath_actions': traced.datapath_actions,
        })

    def _switch(self, dpid_param):
        switches = chosen_switches(self.app, dpid_param)
        if not switches:
            raise RestError(503, 'no %s is connected to the controller'
                            % self.app.settings.tun_bridge)
        if len(switches) > 1:
            raise RestError(400, 'dpid: %d br-tun switches are connected (%s); give one'
                            % (len(switches), ', '.join(dpid_text(s.dpid) for s in switches)))
        return switches[0]

    def _from_tunnel(self, switch, terms):
        """Any VNI is traced from a tunnel: an unknown one is what table 4 drops."""
        tunnels = switch.tunnel_ports()
        if terms.tunnel not in tunnels:
            raise RestError(400, 'tunnel=%r is not a tunnel port of %s (tunnels: %s)' % (
                terms.tunnel, self.app.settings.tun_bridge, ', '.join(sorted(tunnels)) or 'none'))
        ofport = tunnels[terms.tunnel]
        flow = request.tunnel_flow(terms, ofport, remote_ip_of_port(terms.tunnel),
                                   self.app.settings.local_ip)
        return ofport, flow, terms.src

    def _from_vm(self, switch, terms, vlan):
        """A VM port's frame needs its VPC's local VLAN here, and the port tagged with it."""
        settings = self.app.settings
        if vlan is None:
            vpcs = self.app.intent.vpcs if self.app.intent is not None else ()
            raise RestError(400, 'vpc=%#x is not a VPC of this node (VPCs here: %s)' % (
                terms.vni, ', '.join('%#x on local VLAN %d' % (v.vni, v.local_vlan)
                                     for v in vpcs) or 'none'))
        try:
            port = ovs.vm_port(settings.ovsdb_connection, terms.node_port)
        except ovs.NoSuchPort:
            raise RestError(400, 'node_port=%r: no such port in OVSDB' % terms.node_port)
        except ovs.OvsUnavailable as exc:
            raise RestError(503, str(exc))
        if port.bridge != settings.int_bridge:
            raise RestError(400, 'node_port=%r is a port of %s, not of %s (a VM port is)'
                            % (terms.node_port, port.bridge, settings.int_bridge))
        if port.tag != vlan:
            raise RestError(400, 'node_port=%r has VLAN tag %s on %s, but VPC %#x has local '
                            'VLAN %d here: it is not a port of that VPC' % (
                                terms.node_port, port.tag if port.tag is not None else 'none',
                                settings.int_bridge, terms.vni, vlan))
        patch = switch.ports[settings.patch_int_port]
        src = terms.src
        if src is None and port.attached_mac:
            try:  # OVSDB's text goes into the traced flow: a MAC, or nothing at all
                src = request.valid_mac('src', port.attached_mac)
            except request.TermError:
                raise RestError(400, 'node_port=%r: its external_ids:attached-mac %r is not a '
                                'MAC address; give src= instead'
                                % (terms.node_port, port.attached_mac))
        return patch, request.vm_flow(terms, patch, vlan, src), src
