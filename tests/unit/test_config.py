"""[vxlan_vpc] validation: good files load, every bad value names the option and the value."""
import pathlib

import pytest

from ryu_vxlan_vpc import config

ETC = pathlib.Path(__file__).resolve().parents[2] / 'etc' / 'ryu_vxlan_vpc'


def load(tmp_path, **options):
    base = {'local_ip': '172.21.12.163', 'remote_ips': '172.21.12.8', 'vpcs': '0x22:12'}
    base.update(options)
    path = tmp_path / 'node.conf'
    path.write_text('[vxlan_vpc]\n' + ''.join('%s = %s\n' % kv for kv in base.items()
                                              if kv[1] is not None))
    return config.load_file(str(path))


def test_shipped_configs_reproduce_the_article():
    c1 = config.load_file(str(ETC / 'compute1.conf'))
    c2 = config.load_file(str(ETC / 'compute2.conf'))
    assert (c1.local_ip, c1.remote_ips, c1.vpcs) == ('172.21.12.163', ('172.21.12.8',),
                                                     (config.Vpc(0x22, 12),))
    assert (c2.local_ip, c2.remote_ips, c2.vpcs) == ('172.21.12.8', ('172.21.12.163',),
                                                     (config.Vpc(0x22, 22),))
    assert c1.vm_ports == (config.VmPort('123', 0x22, 'c1-test', '192.168.10.11/24'),)
    assert (c1.flow_cookie, c1.learn_cookie, c1.learn_hard_timeout) == (
        0x79, 0xa9eb8f9011f7e038, 300)
    sample = config.load_file(str(ETC / 'sample.conf'))
    assert sample.vxlan_udp_port == 4789 and sample.datapath_type == 'system'


def test_sample_documents_every_option():
    sample = (ETC / 'sample.conf').read_text()
    for opt in config.OPTS:  # registry-only options are shown commented out
        assert '\n%s = ' % opt.name in sample or '\n# %s = ' % opt.name in sample, opt.name


def test_vni_decimal_or_hex(tmp_path):
    assert load(tmp_path, vpcs='34:12,0x23:13').vpcs == (
        config.Vpc(34, 12), config.Vpc(0x23, 13))


@pytest.mark.parametrize('option,value,quoted', [
    ('vpcs', '0x22:5000', '0x22:5000'),
    ('vpcs', '0:12', '0:12'),
    ('vpcs', '0x1000000:12', '0x1000000:12'),
    ('vpcs', '0x22:0', '0x22:0'),
    ('vpcs', '0x22', '0x22'),
    ('vpcs', 'abc:12', 'abc:12'),
    ('vpcs', '0x22:12,0x23:12', '0x23:12'),
    ('vpcs', '0x22:12,34:13', '34:13'),
    ('local_ip', '172.21.12', '172.21.12'),
    ('local_ip', '::1', '::1'),
    ('remote_ips', '172.21.12.8,300.1.1.1', '300.1.1.1'),
    ('remote_ips', '172.21.12.163', '172.21.12.163'),
    ('tun_bridge', 'a-very-long-bridge-name', 'a-very-long-bridge-name'),
    ('patch_int_port', 'patch int', 'patch int'),
    ('int_bridge', 'br-tun', 'br-tun'),
    ('learn_cookie', '0x79', '0x79'),
    ('flow_cookie', '0', '0'),
    ('datapath_type', 'kernel', 'kernel'),
    ('vm_ports', '123:0x99:ns:10.0.0.1/24', '123:0x99:ns:10.0.0.1/24'),
    ('vm_ports', '1234567890123:0x22', '1234567890123:0x22'),
    ('vm_ports', '123:0x22:ns:10.0.0.1', '123:0x22:ns:10.0.0.1'),
    ('controller', 'tcp:127.0.0.1', 'tcp:127.0.0.1'),
    ('controller', 'tcp:127.0.0.1:99999', 'tcp:127.0.0.1:99999'),
    ('controller', 'tcp:1.2.3.4.5.6:1', 'tcp:1.2.3.4.5.6:1'),
    ('tun_bridge', '-h', '-h'),
    ('vm_ports', '123:0x22:..:10.0.0.1/24', '123:0x22:..:10.0.0.1/24'),
    ('vm_ports', '123:0x22:-n:10.0.0.1/24', '123:0x22:-n:10.0.0.1/24'),
    # Typed options: oslo's own error, re-worded to name the option and the written value.
    ('vxlan_udp_port', 'abc', 'abc'),
    ('learn_hard_timeout', '5x', '5x'),
    ('bfd_interval_ms', 'fast', 'fast'),
    ('bfd_interval_ms', '5', '5'),
    ('bfd_interval_ms', '-300', '-300'),
    ('bfd_interval_ms', '60001', '60001'),
])
def test_bad_values_name_option_and_value(tmp_path, option, value, quoted):
    with pytest.raises(config.ConfigError) as err:
        load(tmp_path, **{option: value})
    message = str(err.value)
    path = str(tmp_path / 'node.conf')
    assert message.startswith('config file %r: [vxlan_vpc] %s = ' % (path, option)), message
    assert repr(quoted) in message, message


def test_bfd_interval_defaults_to_300_ms_and_0_turns_bfd_off(tmp_path):
    assert load(tmp_path).bfd_interval_ms == 300
    assert load(tmp_path, bfd_interval_ms='0').bfd_interval_ms == 0
    assert load(tmp_path, bfd_interval_ms='1000').bfd_interval_ms == 1000
    with pytest.raises(config.ConfigError, match=r"bfd_interval_ms = '5': must be 0 \(no BFD\) "
                                                 r"or 10\.\.60000 ms"):
        load(tmp_path, bfd_interval_ms='5')


def test_local_ip_required(tmp_path):
    with pytest.raises(config.ConfigError, match='local_ip'):
        load(tmp_path, local_ip=None)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(config.ConfigError, match='no such file'):
        config.load_file(str(tmp_path / 'nope.conf'))


def test_tunnel_port_names():
    assert config.tunnel_port_name('172.21.12.8') == 'vxlan-ac150c08'
    assert config.remote_ip_of_port('vxlan-ac150c08') == '172.21.12.8'
    assert config.remote_ip_of_port('vxlan-01') is None
    assert len(config.tunnel_port_name('255.255.255.255')) <= config.MAX_IFNAME
