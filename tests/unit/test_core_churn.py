"""The controller core driven as the app drives it, against an in-memory br-tun.

Each sync reads back our flows (``flow_cookie``), asks ``Controller.plan_sync`` and applies
the plan as one bundle, like ``app._sync``. Intents come from the config file or from a
fleet through ``core.intent.from_fleet``; tunnel ports come and go as port-status events.
Learned flows are made by sending packets through the simulated pipeline.
"""
import pathlib
import random

import pytest

from fakeoftable import FakeOFTable, Packet
from ryu_vxlan_vpc.config import Settings
from ryu_vxlan_vpc.core.intent import from_fleet, from_settings
from ryu_vxlan_vpc.core.switches import Controller
from ryu_vxlan_vpc.flows import text
from ryu_vxlan_vpc.flows.model import Load, Output
from ryu_vxlan_vpc.model import Vpc, tunnel_port_name
from ryu_vxlan_vpc.pipeline import br_tun
from ryu_vxlan_vpc.registry.records import Fleet, NodeRecord, PortRecord, VpcRecord

DATA = pathlib.Path(__file__).parent / 'data'
DPID = 0x1
PATCH = 1
LOCAL = 0xfffffffe
ME, ME_IP = 'compute1', '172.21.12.7'
NODE2, NODE2_IP = 'compute2', '172.21.12.8'
NODE3, NODE3_IP = 'compute3', '172.21.12.9'
TUN2, TUN3 = tunnel_port_name(NODE2_IP), tunnel_port_name(NODE3_IP)
BROADCAST = 'ff:ff:ff:ff:ff:ff'
LOCAL_MAC = 'fa:16:3e:00:00:01'     # a VM on this node, behind br-int
REGISTRY = Settings(ME_IP, (), (), etcd_endpoints=('127.0.0.1:2379',), node_name=ME)


def mac(n):
    return 'fa:16:3e:00:%02x:%02x' % (n >> 8, n & 0xff)


class Node:
    """One node's br-tun: the Controller, the switch's flow table and its ports."""

    def __init__(self, settings, intent=None, ports=None, table=None, dpid=DPID, born=None):
        self.settings, self.dpid = settings, dpid
        self.table = FakeOFTable() if table is None else table
        self.core = Controller(settings, intent)
        self.core.connected(dpid)
        ports = {'br-tun': LOCAL, 'patch-int': PATCH} if ports is None else ports
        # ofport -> the table's time the port was made; the ports given exist since 0
        self.born = {**{no: 0.0 for no in ports.values()}, **(born or {})}
        self.wanted_sync = self.core.described(dpid, ports)
        self.plans = []

    def sync(self):
        """What the app's _sync does; returns the plan (None when it does not sync). The
        learned flows and the tunnels' ages are read every time (the app reads them after
        a connect or a port change)."""
        if not self.core.wants_sync(self.dpid):
            return None
        installed = self.table.flows(cookie=self.settings.flow_cookie)
        learned = self.table.stats(table=20, cookie=self.settings.learn_cookie)
        ages = {no: self.table.now - self.born[no]
                for no in self.core.switches[self.dpid].tunnel_ports().values()}
        plan = self.core.plan_sync(self.dpid, installed, learned, ages)
        if not plan.empty:
            self.table.apply_bundle(plan.mods())
        self.core.sync_done(self.dpid, plan)
        self.plans.append(plan)
        return plan

    def set_intent(self, intent):
        dpids = self.core.set_intent(intent)
        for dpid in dpids:
            assert dpid == self.dpid
            self.sync()
        return dpids

    def port(self, name, ofport):
        if ofport is not None:
            self.born[ofport] = self.table.now
        _, wants_sync = self.core.port_changed(self.dpid, name, ofport)
        return self.sync() if wants_sync else None

    # --- read-back --------------------------------------------------------------------
    def ours(self):
        return sorted(text.render(f) for f in self.table.flows(cookie=self.settings.flow_cookie))

    def learned(self):
        """(local VLAN, MAC, VNI, tunnel ofport) of every learned flow."""
        return sorted(learned_entry(f) for f in
                      self.table.flows(table=20, cookie=self.settings.learn_cookie))

    def learn(self, ofport, vni, src):
        """A packet from ``src`` behind the tunnel ``ofport`` with VNI ``vni``."""
        return self.table.process(Packet(src, LOCAL_MAC, tun_id=vni), in_port=ofport)

    def broadcast(self, vlan):
        return self.table.process(Packet(LOCAL_MAC, BROADCAST, vlan=vlan), in_port=PATCH)


def learned_entry(flow):
    vlan, mask = flow.match.vlan_tci
    assert mask == 0x0fff
    vni = next(a.value for a in flow.actions
               if isinstance(a, Load) and a.dst.name == 'NXM_NX_TUN_ID')
    port = next(a.port for a in flow.actions if isinstance(a, Output))
    return vlan, flow.match.dl_dst, vni, port


def fleet(nodes, ports):
    """nodes: {name: ip}; ports: {(node, port_id): vni}. Every VPC of a port is recorded."""
    return Fleet(nodes={n: NodeRecord(n, ip) for n, ip in nodes.items()},
                 vpcs={vni: VpcRecord(vni) for vni in set(ports.values())},
                 ports=tuple(PortRecord(n, p, vni, mac(i + 1))
                             for i, ((n, p), vni) in enumerate(sorted(ports.items()))))


def intent_of(node, nodes, ports):
    """The intent the ports agent hands the app for this fleet (VLANs kept as it keeps
    them: from the current intent)."""
    current = node.core.intent
    previous = {v.vni: v.local_vlan for v in current.vpcs} if current else {}
    intent, notes = from_fleet(fleet(nodes, ports), ME, ME_IP, previous)
    assert notes == []
    return intent


def flooded(trace):
    """{ofport: VNI} a broadcast went out with; every copy untagged."""
    assert all(p.vlan is None for _, p in trace.outputs)
    return {port: p.tun_id for port, p in trace.outputs}


def registry_node(nodes, ports, tunnels):
    """A registry-mode node connected and synced. tunnels: {port name: ofport}."""
    node = Node(REGISTRY, ports=dict({'br-tun': LOCAL, 'patch-int': PATCH}, **tunnels))
    assert node.wanted_sync is False    # no intent yet: nothing to sync towards
    assert node.set_intent(intent_of(node, nodes, ports)) == [DPID]
    assert node.table.n_bundles == 1
    return node


# --- file mode ----------------------------------------------------------------------------

def test_file_mode_first_connect_installs_the_article_flows_then_sends_nothing():
    settings = Settings(ME_IP, (NODE2_IP,), (Vpc(0x22, 12),))
    node = Node(settings, from_settings(settings),
                ports={'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8})
    assert node.wanted_sync is True
    plan = node.sync()
    expected = text.parse_dump((DATA / 'article_compute1_dump_flows.txt').read_text())
    assert len(expected) == 13 and node.ours() == sorted(expected)
    assert len(plan.add) == 13 and plan.delete == () and plan.forget == ()
    assert node.table.n_bundles == 1 and len(node.table.flows()) == 13
    again = node.sync()
    assert again.empty and again.unchanged == 13 and node.table.n_bundles == 1


def test_file_mode_traffic_learns_and_floods_per_the_article():
    settings = Settings(ME_IP, (NODE2_IP,), (Vpc(0x22, 12),))
    node = Node(settings, from_settings(settings),
                ports={'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8})
    node.sync()
    assert flooded(node.broadcast(12)) == {8: 0x22}
    assert node.learn(8, 0x22, mac(7)).ports == [PATCH]
    assert node.learned() == [(12, mac(7), 0x22, 8)]
    assert node.sync().empty   # learned flows are not ours to touch while nothing changed


# --- registry intents -----------------------------------------------------------------

BASE_NODES = {ME: ME_IP, NODE2: NODE2_IP}
BASE_PORTS = {(ME, 'p1'): 0x22, (NODE2, 'q1'): 0x22}


def test_vpc_added_gains_its_table_4_and_22_flows_in_one_bundle():
    node = registry_node(BASE_NODES, BASE_PORTS, {TUN2: 8})
    assert node.core.intent.vpcs == (Vpc(0x22, 1),)
    before = set(node.ours())
    assert node.broadcast(2).outputs == []   # VLAN 2 is nobody's yet
    ports = {**BASE_PORTS, (ME, 'p2'): 0x23}
    assert node.set_intent(intent_of(node, BASE_NODES, ports)) == [DPID]
    assert node.table.n_bundles == 2
    assert sorted(set(node.ours()) - before) == [
        'cookie=0x79, table=22, dl_vlan=2 actions=strip_vlan,set_tunnel:0x23,output:8',
        'cookie=0x79, table=4, priority=1,tun_id=0x23 actions=mod_vlan_vid:2,resubmit(,10)']
    assert before <= set(node.ours())
    plan = node.plans[-1]
    assert len(plan.add) == 2 and plan.delete == () and plan.forget == ()
    assert flooded(node.broadcast(2)) == {8: 0x23}
    assert flooded(node.broadcast(1)) == {8: 0x22}


def test_vpc_removed_takes_its_flows_and_its_learned_macs_in_one_bundle():
    nodes = {**BASE_NODES, NODE3: NODE3_IP}
    ports = {**BASE_PORTS, (ME, 'p2'): 0x23}
    node = registry_node(nodes, ports, {TUN2: 8, TUN3: 9})
    assert node.core.intent.vpcs == (Vpc(0x22, 1), Vpc(0x23, 2))
    node.learn(8, 0x22, mac(0xa))
    node.learn(9, 0x23, mac(0xb))
    node.learn(8, 0x23, mac(0xc))
    assert len(node.learned()) == 3
    del ports[(ME, 'p2')]
    bundles = node.table.n_bundles
    node.set_intent(intent_of(node, nodes, ports))
    assert node.table.n_bundles == bundles + 1
    assert not [line for line in node.ours() if 'tun_id=0x23' in line or 'dl_vlan=2 ' in line]
    assert node.learned() == [(1, mac(0xa), 0x22, 8)]   # the other VPC's MAC stays
    assert len(node.plans[-1].forget) == 1
    assert node.broadcast(2).outputs == []
    trace = node.learn(9, 0x23, mac(0xd))
    assert trace.outputs == [] and trace.learned == []
    assert flooded(node.broadcast(1)) == {8: 0x22, 9: 0x22}


def test_node_added_shows_up_through_its_tunnel_port():
    node = registry_node(BASE_NODES, BASE_PORTS, {TUN2: 8})
    nodes = {**BASE_NODES, NODE3: NODE3_IP}
    intent = intent_of(node, nodes, BASE_PORTS)
    assert intent.remote_ips == (NODE2_IP, NODE3_IP)
    assert node.set_intent(intent) == []   # no flow changes until OVS has the port
    assert node.table.n_bundles == 1 and flooded(node.broadcast(1)) == {8: 0x22}
    before = set(node.ours())
    plan = node.port(TUN3, 9)
    assert node.table.n_bundles == 2
    assert sorted(set(node.ours()) - before) == [
        'cookie=0x79, table=0, priority=1,in_port=9 actions=resubmit(,4)',
        'cookie=0x79, table=22, dl_vlan=1 actions=strip_vlan,set_tunnel:0x22,output:8,output:9']
    assert plan.delete == () and plan.forget == ()   # table 22's entry replaced in place
    assert flooded(node.broadcast(1)) == {8: 0x22, 9: 0x22}
    assert node.learn(9, 0x22, mac(3)).ports == [PATCH]
    assert node.port(TUN3, 9) is None   # the same port again: no sync


def test_node_removed_takes_its_tunnel_flow_and_the_macs_behind_it():
    nodes = {**BASE_NODES, NODE3: NODE3_IP}
    node = registry_node(nodes, BASE_PORTS, {TUN2: 8, TUN3: 9})
    node.learn(8, 0x22, mac(0xa))
    node.learn(9, 0x22, mac(0xb))
    node.learn(9, 0x22, mac(0xc))
    assert node.set_intent(intent_of(node, BASE_NODES, BASE_PORTS)) == []
    assert node.table.n_bundles == 1
    plan = node.port(TUN3, None)
    assert node.table.n_bundles == 2
    assert not [line for line in node.ours() if 'in_port=9' in line or 'output:9' in line]
    assert node.learned() == [(1, mac(0xa), 0x22, 8)]
    assert [d.out_port for d in plan.forget] == [9]
    assert flooded(node.broadcast(1)) == {8: 0x22}


def test_another_vm_port_of_a_provisioned_vpc_changes_no_flow():
    node = registry_node(BASE_NODES, BASE_PORTS, {TUN2: 8})
    before = node.ours()
    intent = intent_of(node, BASE_NODES, {**BASE_PORTS, (ME, 'p9'): 0x22})
    assert len(intent.bindings) == 2 and intent.vpcs == node.core.intent.vpcs
    assert node.set_intent(intent) == []
    assert node.sync().empty and node.ours() == before and node.table.n_bundles == 1


@pytest.mark.parametrize('in_one_update', [True, False])
def test_a_vlan_handed_to_another_vpc_keeps_no_learned_flow_of_the_old_one(in_one_update):
    ports = {**BASE_PORTS, (ME, 'p2'): 0x23}
    node = registry_node(BASE_NODES, ports, {TUN2: 8})
    assert node.core.intent.vpcs == (Vpc(0x22, 1), Vpc(0x23, 2))
    node.learn(8, 0x22, mac(0xa))
    node.learn(8, 0x23, mac(0xb))
    del ports[(ME, 'p1')]
    if not in_one_update:
        node.set_intent(intent_of(node, BASE_NODES, ports))
    ports[(ME, 'p3')] = 0x30
    node.set_intent(intent_of(node, BASE_NODES, ports))
    assert node.core.intent.vpcs == (Vpc(0x23, 2), Vpc(0x30, 1))   # VLAN 1 reused
    assert node.learned() == [(2, mac(0xb), 0x23, 8)]
    # A frame of the new VPC to the old VPC's MAC floods within the new VPC, never out
    # as VNI 0x22.
    trace = node.table.process(Packet(LOCAL_MAC, mac(0xa), vlan=1), in_port=PATCH)
    assert flooded(trace) == {8: 0x30}


# --- restarts -----------------------------------------------------------------------------

def test_restart_with_an_unchanged_intent_changes_nothing():
    nodes = {**BASE_NODES, NODE3: NODE3_IP}
    ports = {**BASE_PORTS, (ME, 'p2'): 0x23}
    tunnels = {TUN2: 8, TUN3: 9}
    old = registry_node(nodes, ports, tunnels)
    old.learn(8, 0x22, mac(1))
    old.learn(9, 0x23, mac(2))
    flows = old.table.flows()
    vlans = {v.vni: v.local_vlan for v in old.core.intent.vpcs}   # as OVSDB recorded them
    new = Node(REGISTRY, ports=dict({'br-tun': LOCAL, 'patch-int': PATCH}, **tunnels),
               table=old.table)
    intent, _ = from_fleet(fleet(nodes, ports), ME, ME_IP, vlans)
    assert intent == old.core.intent
    assert new.set_intent(intent) == [DPID]
    assert new.plans[-1].empty and new.table.flows() == flows and new.table.n_bundles == 1


def test_restart_after_a_tunnel_went_while_down_forgets_the_macs_behind_it():
    nodes = {**BASE_NODES, NODE3: NODE3_IP}
    old = registry_node(nodes, BASE_PORTS, {TUN2: 8, TUN3: 9})
    old.learn(8, 0x22, mac(1))
    old.learn(9, 0x22, mac(2))
    new = Node(REGISTRY, ports={'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8}, table=old.table)
    new.set_intent(intent_of(new, BASE_NODES, BASE_PORTS))
    assert new.table.n_bundles == 2
    assert new.learned() == [(1, mac(1), 0x22, 8)]
    assert not [line for line in new.ours() if 'in_port=9' in line or 'output:9' in line]


def test_restart_after_a_vpc_went_while_down_forgets_the_macs_on_its_vlan():
    ports = {**BASE_PORTS, (ME, 'p2'): 0x23}
    old = registry_node(BASE_NODES, ports, {TUN2: 8})
    old.learn(8, 0x22, mac(1))
    old.learn(8, 0x23, mac(2))
    new = Node(REGISTRY, ports={'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8}, table=old.table)
    del ports[(ME, 'p1')]
    intent, _ = from_fleet(fleet(BASE_NODES, ports), ME, ME_IP, {0x23: 2})
    new.set_intent(intent)
    assert new.learned() == [(2, mac(2), 0x23, 8)]


def test_file_mode_restart_with_another_local_vlan_forgets_the_old_vlan():
    ports = {'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8}
    first = Settings(ME_IP, (NODE2_IP,), (Vpc(0x22, 12),))
    old = Node(first, from_settings(first), ports=ports)
    old.sync()
    old.learn(8, 0x22, mac(1))
    second = Settings(ME_IP, (NODE2_IP,), (Vpc(0x22, 13),))
    new = Node(second, from_settings(second), ports=ports, table=old.table)
    new.sync()
    assert new.learned() == []
    assert flooded(new.broadcast(13)) == {8: 0x22} and new.broadcast(12).outputs == []


# --- when not to sync -----------------------------------------------------------------

def test_no_intent_yet_means_no_sync_at_all():
    table = FakeOFTable()
    node = Node(REGISTRY, ports={'br-tun': LOCAL, 'patch-int': PATCH, TUN2: 8}, table=table)
    assert node.wanted_sync is False and not node.core.wants_sync(DPID)
    assert node.core.is_br_tun(DPID)
    assert node.sync() is None
    assert node.port(TUN3, 9) is None and node.port(TUN2, None) is None
    assert table.n_mods == 0 and table.n_bundles == 0


def test_no_intent_leaves_a_running_pipeline_exactly_as_it_is():
    old = registry_node(BASE_NODES, BASE_PORTS, {TUN2: 8})
    flows = old.table.flows()
    new = Node(REGISTRY, ports={'br-tun': LOCAL, 'patch-int': PATCH}, table=old.table)
    assert new.sync() is None and new.table.flows() == flows


def test_a_switch_without_patch_int_is_never_synced():
    core = Controller(REGISTRY, None)
    core.connected(DPID)
    core.connected(2)
    assert not core.is_br_tun(DPID)   # not described yet
    assert core.described(DPID, {'br-tun': LOCAL, 'patch-int': PATCH}) is False  # no intent
    assert core.described(2, {'br-int': LOCAL, 'patch-tun': 1, 'qvo1': 3}) is False
    intent, _ = from_fleet(fleet(BASE_NODES, BASE_PORTS), ME, ME_IP, {})
    assert core.set_intent(intent) == [DPID]
    assert core.br_tun_dpids() == [DPID]
    assert not core.wants_sync(2)
    assert core.port_changed(2, TUN2, 8) == (None, False)   # even a vxlan-* port
    assert core.port_changed(2, 'qvo2', 4) == (None, False)
    ports = {**BASE_PORTS, (ME, 'p2'): 0x23}
    assert core.set_intent(from_fleet(fleet(BASE_NODES, ports), ME, ME_IP, {0x22: 1})[0]) == [DPID]
    # A br-tun that loses its patch port stops being synced.
    assert core.port_changed(DPID, 'patch-int', None) == (PATCH, False)
    assert core.br_tun_dpids() == []


# --- churn --------------------------------------------------------------------------------

def check(node, tunnels):
    """The table holds exactly the pipeline for the intent and these tunnels, and no
    learned flow points at a gone tunnel or at a VLAN no VPC (or another VPC) holds."""
    vpcs = node.core.intent.vpcs
    state = br_tun.BrTunState(PATCH, tuple(tunnels.values()), vpcs)
    assert node.table.flows(cookie=REGISTRY.flow_cookie) == sorted(
        br_tun.build(state), key=lambda f: (f.table, -f.priority, text.render(f)))
    vni_of = {v.local_vlan: v.vni for v in vpcs}
    for vlan, _, vni, port in node.learned():
        assert port in tunnels.values(), 'learned flow behind gone ofport %d' % port
        assert vni_of.get(vlan) == vni, 'learned flow of VNI %#x on VLAN %d' % (vni, vlan)


def test_churn_of_vpcs_and_tunnels_keeps_the_table_exact():
    rnd = random.Random(20240611)
    nodes, ports = {ME: ME_IP}, {}
    tunnels = {}            # port name -> ofport, as OVS has them on br-tun
    next_ofport = [10]
    node = registry_node(nodes, ports, {})
    vlans_seen = {}         # vni -> VLAN while it stays provisioned
    macs = iter(range(1, 1 << 16))
    counts = dict.fromkeys(('add_vpc', 'remove_vpc', 'add_node', 'remove_node', 'port',
                            'ofport', 'restart'), 0)

    def new_ofport():
        next_ofport[0] += 1
        return next_ofport[0]

    for step in range(200):
        hosted = sorted({vni for (n, _), vni in ports.items() if n == ME})
        others = sorted(n for n in nodes if n != ME)
        op = rnd.choice(['add_vpc'] * 3 + ['remove_vpc'] * 2 + ['add_node'] * 3 +
                        ['remove_node'] * 2 + ['port', 'ofport', 'restart'])
        if op in ('remove_vpc', 'port') and not hosted or (
                op in ('remove_node', 'ofport') and not others):
            op = 'add_vpc' if op in ('remove_vpc', 'port') else 'add_node'
        counts[op] += 1
        bundles = node.table.n_bundles
        if op == 'add_vpc':
            vni = rnd.choice([v for v in range(1, 40) if v not in hosted])
            ports[(ME, 'p%d' % step)] = vni
            if rnd.random() < 0.5 and others:   # the VPC spans another node too
                ports[(rnd.choice(others), 'q%d' % step)] = vni
            node.set_intent(intent_of(node, nodes, ports))
        elif op == 'remove_vpc':
            vni = rnd.choice(hosted)
            for key in [k for k, v in ports.items() if k[0] == ME and v == vni]:
                del ports[key]
            node.set_intent(intent_of(node, nodes, ports))
        elif op == 'port':   # one more VM port of a VPC already here: no flow change
            ports[(ME, 'p%d' % step)] = rnd.choice(hosted)
            assert node.set_intent(intent_of(node, nodes, ports)) == []
        elif op == 'add_node':
            name = 'n%d' % step
            nodes[name] = '10.%d.%d.%d' % (step // 250, step % 250, rnd.randrange(1, 250))
            assert node.set_intent(intent_of(node, nodes, ports)) == []
            tunnels[tunnel_port_name(nodes[name])] = ofport = new_ofport()
            node.port(tunnel_port_name(nodes[name]), ofport)
        elif op == 'remove_node':
            name = rnd.choice(others)
            for key in [k for k in ports if k[0] == name]:
                del ports[key]
            gone = tunnel_port_name(nodes.pop(name))
            assert node.set_intent(intent_of(node, nodes, ports)) == []
            del tunnels[gone]
            node.port(gone, None)
        elif op == 'ofport':   # OVS re-made a tunnel: same name, new ofport
            name = tunnel_port_name(nodes[rnd.choice(others)])
            tunnels[name] = new_ofport()
            node.port(name, tunnels[name])
        else:   # restart: a fresh controller on the same switch, VLANs as OVSDB kept them
            vlans = {v.vni: v.local_vlan for v in node.core.intent.vpcs}
            node = Node(REGISTRY, ports=dict({'br-tun': LOCAL, 'patch-int': PATCH}, **tunnels),
                        table=node.table)
            intent, _ = from_fleet(fleet(nodes, ports), ME, ME_IP, vlans)
            node.set_intent(intent)
            assert node.plans[-1].empty
        assert node.table.n_bundles - bundles <= 1, op
        assert node.core.intent.remote_ips == tuple(sorted(
            (ip for n, ip in nodes.items() if n != ME),
            key=lambda ip: tuple(map(int, ip.split('.')))))

        # VLANs: unique, and a VPC that stays keeps its VLAN.
        vpcs = node.core.intent.vpcs
        assert len({v.local_vlan for v in vpcs}) == len(vpcs)
        assert {v.vni for v in vpcs} == {vni for (n, _), vni in ports.items() if n == ME}
        for v in vpcs:
            assert vlans_seen.setdefault(v.vni, v.local_vlan) == v.local_vlan
        vlans_seen = {v.vni: v.local_vlan for v in vpcs}

        check(node, tunnels)
        # Traffic: MACs learned behind random tunnels, for VNIs here and not here.
        for _ in range(3):
            if tunnels:
                node.learn(rnd.choice(sorted(tunnels.values())), rnd.randrange(1, 42),
                           mac(next(macs)))
        if vpcs:
            vpc = rnd.choice(vpcs)
            assert flooded(node.broadcast(vpc.local_vlan)) == {
                port: vpc.vni for port in tunnels.values()}
        check(node, tunnels)

    assert all(counts.values()), counts
    assert node.learned(), 'the churn never left a learned flow to check'
