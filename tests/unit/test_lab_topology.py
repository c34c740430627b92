"""Pure lab topology: nodes, VTEPs, full mesh, VMs, namespaces, configs it writes."""
import dataclasses
import os

import pytest

from ryu_vxlan_vpc import config
from ryu_vxlan_vpc.config import ConfigError, VmPort, Vpc
from ryu_vxlan_vpc.lab import topology as T
from ryu_vxlan_vpc.lab.topology import TopologyError

ETC = os.path.join(os.path.dirname(__file__), '..', '..', 'etc', 'ryu_vxlan_vpc')


def etc_base():
    paths = {i: os.path.join(ETC, 'compute%d.conf' % i) for i in (1, 2)}
    return {i: (config.load_file(p), p) for i, p in paths.items()}


def round_trip(settings, tmp_path):
    path = tmp_path / 'node.conf'
    path.write_text(T.render_config(settings, comment='written by a test\nsecond line'))
    return config.load_file(str(path))


def test_two_nodes_are_the_articles_compute1_and_compute2():
    topo = T.build(2)
    c1, c2 = topo.nodes
    assert (c1.name, c1.netns, c1.vtep, c1.source) == ('compute1', 'compute1',
                                                       '172.21.12.163', None)
    assert (c2.name, c2.vtep) == ('compute2', '172.21.12.8')
    assert c1.settings.remote_ips == ('172.21.12.8',)
    assert c2.settings.remote_ips == ('172.21.12.163',)
    assert [n.settings.vpcs for n in topo.nodes] == [(Vpc(0x22, 12),), (Vpc(0x22, 22),)]
    assert [(vm.namespace, vm.ip, vm.vni) for vm in topo.vms()] == [
        ('c1-test', '192.168.10.11', 0x22), ('c2-test', '192.168.10.12', 0x22)]
    assert topo.namespaces() == ['underlay', 'compute1', 'compute2', 'c1-test', 'c2-test']


def test_etc_configs_are_used_as_they_are():
    base = etc_base()
    topo = T.build(2, base=base)
    for node in topo.nodes:
        settings, source = base[node.index]
        assert node.source == source
        assert node.settings == settings
    # Generated nodes are built the same way as the article's files.
    assert [n.settings for n in T.build(2).nodes] == [n.settings for n in topo.nodes]


def test_three_nodes_make_a_full_mesh():
    topo = T.build(3, base=etc_base())
    vteps = ['172.21.12.163', '172.21.12.8', '172.21.12.13']
    assert [n.vtep for n in topo.nodes] == vteps
    for node in topo.nodes:
        assert node.settings.remote_ips == tuple(ip for ip in vteps if ip != node.vtep)
        assert node.settings.datapath_type == 'netdev'
    c3 = topo.nodes[2]
    assert (c3.source, c3.settings.vpcs) == (None, (Vpc(0x22, 32),))
    assert c3.settings.vm_ports == (VmPort('123', 0x22, 'c3-test', '192.168.10.13/24'),)


@pytest.mark.parametrize('count', [0, 1, 33])
def test_node_count_outside_2_to_32_is_rejected(count):
    with pytest.raises(TopologyError, match=r'--nodes %d: a lab has 2\.\.32 nodes' % count):
        T.build(count)


def test_32_nodes_fit_with_distinct_names_and_vteps():
    topo = T.build(T.MAX_NODES, second_vpc=True)
    assert len(topo.nodes) == 32
    assert len(set(topo.namespaces())) == 1 + 32 + 64
    assert len({n.vtep for n in topo.nodes}) == 32
    assert {vm.ip for vm in topo.vms()} >= {'192.168.10.42', '192.168.10.142'}


@pytest.mark.parametrize('prefix', ['Lab-', 'a_b', 'x/', 'a' * 25, 'a b'])
def test_bad_prefix_is_rejected(prefix):
    with pytest.raises(TopologyError, match='--prefix'):
        T.build(2, prefix=prefix)


def test_prefix_goes_on_every_namespace_but_not_on_node_names():
    topo = T.build(2, prefix='ci-7-', base=etc_base(), second_vpc=True)
    assert topo.underlay_netns == 'ci-7-underlay'
    assert [(n.name, n.netns, n.uplink) for n in topo.nodes] == [
        ('compute1', 'ci-7-compute1', 'compute1'), ('compute2', 'ci-7-compute2', 'compute2')]
    assert topo.namespaces() == ['ci-7-underlay', 'ci-7-compute1', 'ci-7-compute2',
                                 'ci-7-c1-test', 'ci-7-c1-vpc2', 'ci-7-c2-test', 'ci-7-c2-vpc2']
    # The node configs name the prefixed VM namespaces, as bootstrap must create them.
    assert [p.namespace for p in topo.nodes[1].settings.vm_ports] == ['ci-7-c2-test',
                                                                      'ci-7-c2-vpc2']


def test_second_vpc_adds_a_vm_in_vni_0x23_on_every_node():
    topo = T.build(3, second_vpc=True)
    for node in topo.nodes:
        i = node.index
        assert node.settings.vpcs[-1] == Vpc(0x23, 10 * i + 3)
        assert node.settings.vm_ports[-1] == VmPort('456', 0x23, 'c%d-vpc2' % i,
                                                    '192.168.10.%d/24' % (110 + i))
    vpc2 = [vm for vm in topo.vms() if vm.vni == 0x23]
    assert [vm.ip for vm in vpc2] == ['192.168.10.111', '192.168.10.112', '192.168.10.113']
    assert all(len(n.settings.vpcs) == 1 for n in T.build(3).nodes)


def test_duplicate_vteps_are_rejected_naming_the_node():
    c1, path = etc_base()[1]
    # The first node holding the duplicate is named, with the file it came from.
    with pytest.raises(ConfigError, match=r"local_ip = '172\.21\.12\.163': node 1 \(.*"
                                          r"compute1\.conf\): the lab needs distinct VTEPs"):
        T.build(2, base={1: (c1, path), 2: (c1, '/x.conf')})


def test_vtep_outside_the_first_nodes_slash_24_is_rejected():
    far = dataclasses.replace(T.generated_settings(2), local_ip='172.21.13.8')
    with pytest.raises(ConfigError, match=r"local_ip = '172\.21\.13\.8'.*one /24"):
        T.build(2, base={2: (far, None)})


def test_namespace_names_used_twice_are_rejected():
    s2 = T.generated_settings(2)
    clash = dataclasses.replace(s2, vm_ports=(dataclasses.replace(s2.vm_ports[0],
                                                                  namespace='compute1'),))
    with pytest.raises(TopologyError, match='namespace names used twice: compute1'):
        T.build(2, base={2: (clash, None)})


@pytest.mark.parametrize('second_vpc', [False, True])
def test_rendered_config_reads_back_to_the_same_settings(tmp_path, second_vpc):
    for node in T.build(3, prefix='p-', base=etc_base(), second_vpc=second_vpc).nodes:
        assert round_trip(node.settings, tmp_path) == node.settings


def test_render_config_keeps_every_option(tmp_path):
    odd = config.Settings(
        local_ip='10.0.0.1', remote_ips=(), vpcs=(Vpc(5000, 7), Vpc(0xabcdef, 4094)),
        tun_bridge='tun0', int_bridge='int0', patch_int_port='pi', patch_tun_port='pt',
        vxlan_udp_port=8472, learn_hard_timeout=60, flow_cookie=0x1234, learn_cookie=5,
        controller='tcp:10.0.0.2:6653', datapath_type='system',
        vm_ports=(VmPort('a-1', 5000), VmPort('b_2', 0xabcdef, 'vm.b', '10.9.0.2/16')))
    text = T.render_config(odd, comment='one\ntwo')
    assert text.splitlines()[:3] == ['# one', '# two', '[vxlan_vpc]']
    assert round_trip(odd, tmp_path) == odd


def test_controller_endpoint():
    assert T.controller_endpoint(T.generated_settings(1)) == ('127.0.0.1', 6633)
    s = dataclasses.replace(T.generated_settings(1), controller='tcp:127.0.0.5:6653')
    assert T.controller_endpoint(s) == ('127.0.0.5', 6653)
    for target in ('ptcp:6633', 'ssl:127.0.0.1:6633', 'unix:/run/ctl.sock'):
        with pytest.raises(ConfigError, match='controller = %r' % target):
            T.controller_endpoint(dataclasses.replace(s, controller=target))
