"""config_files.check_files and the VTEP address rule: every malformed file is one
ConfigFileError naming the file, the line and the problem; misspellings name the fix."""
import pathlib

import pytest

from ryu_vxlan_vpc import config, config_files
from ryu_vxlan_vpc.registry import fleet
from ryu_vxlan_vpc.registry.records import RecordError, parse_fleet, parse_ipv4

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / 'etc' / 'ryu_vxlan_vpc' / 'sample.conf'
GOOD = b'[vxlan_vpc]\nlocal_ip = 172.21.12.163\nremote_ips = 172.21.12.8\nvpcs = 0x22:12\n'


def refused(tmp_path, data, name='node.conf'):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(config.ConfigFileError) as err:
        config_files.check_files([str(path)])
    message = str(err.value)
    assert message.startswith('config file %r' % str(path)), message
    assert '\n' not in message
    return message


def test_good_files_pass(tmp_path):
    (tmp_path / 'n.conf').write_bytes(GOOD + b'node_name = a$$b\n[other_app]\nx = $y\n')
    files = config_files.check_files([str(SAMPLE), str(tmp_path / 'n.conf')])
    assert [f.path for f in files] == [str(SAMPLE), str(tmp_path / 'n.conf')]
    assert ('local_ip', '172.21.12.163', 2) in files[1].items_in('vxlan_vpc')


@pytest.mark.parametrize('data,expected', [
    (b'\xef\xbb\xbf' + GOOD, "': starts with a UTF-8 byte order mark"),
    (GOOD.decode().encode('utf-16'), "': is UTF-16 text"),
    (GOOD.decode().encode('utf-32'), "': is UTF-32 text"),
    (GOOD.decode().encode('utf-16-le'), "' line 1: holds a NUL byte"),
    (GOOD + b'node_name = caf\xe9\n', "' line 5: byte 0xe9 is not UTF-8"),
    (b'local_ip = 1.2.3.4\n', "' line 1: an option before any [section] header"),
    (GOOD + b'local_ip\n', "' line 5: expected NAME = VALUE: 'local_ip'"),
    (GOOD + b'= 4\n', "' line 5: no option name"),
    (b'  indented = 1\n' + GOOD, "' line 1: an indented line"),
    (b'[vxlan_vpc\n', "' line 1: a section header must end with"),
    (GOOD + b'remote_ip = 172.21.12.9\n', "' line 5: [vxlan_vpc] remote_ip is not an option; "
                                          "did you mean remote_ips?"),
    (GOOD + b'datapath_typ = netdev\n', 'did you mean datapath_type?'),
    (GOOD + b'Local-IP = 1.2.3.4\n', 'did you mean local_ip?'),
    (GOOD + b'zzz = 1\n', '[vxlan_vpc] zzz is not an option (the options are local_ip, '),
    (GOOD + b'remote_ips = 172.21.12.9\n', "' line 5: [vxlan_vpc] remote_ips is set again "
                                           "(first on line 3)"),
    (b'[DEFAULT]\nremote_ips = 1.2.3.4\n' + GOOD, "' line 2: remote_ips belongs in "
                                                  "[vxlan_vpc], not [DEFAULT]"),
    (b'[vxlan-vpc]\nlocal_ip = 1.2.3.4\n', "' line 1: unknown section [vxlan-vpc] (its options "
                                           "would be ignored); did you mean [vxlan_vpc]?"),
    (GOOD + b'[default]\nwsapi_port = 1\n', 'did you mean [DEFAULT]?'),
    (b'[vpc]\nlocal_ip = 1.2.3.4\n', "line 1: unknown section [vpc]"),
    (b'[DEFAULT]\n[node]\nlocal_ip = 1.2.3.4\n', "': no [vxlan_vpc] section; did you mean "
                                                 "[vxlan_vpc] for [node]?"),
    (b'[DEFAULT]\nwsapi_port = 8080\n', "': no [vxlan_vpc] section"),
    (b'', "': no [vxlan_vpc] section"),
    (GOOD + b'remote_ips = $local_ip\n'.replace(b'remote_ips', b'node_name'),
     "line 5: [vxlan_vpc] node_name = '$local_ip': oslo.config would replace $local_ip"),
    (GOOD + b'controller = tcp:${x}:1\n', 'would replace ${x}'),
    (GOOD + b'node_name = a\\$b\n' + b'[DEFAULT]\nwsapi_host = $foo\n',
     "line 7: [DEFAULT] wsapi_host = '$foo'"),
])
def test_malformed_file_is_one_line(tmp_path, data, expected):
    assert expected in refused(tmp_path, data)


def test_continued_value_reports_the_key_line(tmp_path):
    message = refused(tmp_path, GOOD + b'\nvpcs2 = 1\n  2\n')
    assert "line 6: [vxlan_vpc] vpcs2 is not an option; did you mean vpcs?" in message


def test_junk_is_cut_short(tmp_path):
    message = refused(tmp_path, b'x' * 5000 + b'\n')
    assert len(message) < 300 and "'xxx" in message and "...'" in message


def test_paths(tmp_path):
    assert "': no such file" in refused_path(str(tmp_path / 'missing.conf'))
    assert "': no such file" in refused_path(str(tmp_path / 'missing' / 'x.conf'))
    assert "': is a directory, not a file" in refused_path(str(tmp_path))
    assert "': is not a regular file" in refused_path('/dev/null')
    dollar = tmp_path / 'a$b'
    dollar.mkdir()
    (dollar / 'n.conf').write_bytes(GOOD)
    assert '"$" in the path' in refused_path(str(dollar / 'n.conf'))
    big = tmp_path / 'big.conf'
    big.write_bytes(GOOD + b'#' * config_files.MAX_BYTES)
    assert 'larger than' in refused_path(str(big))


def refused_path(path):
    with pytest.raises(config.ConfigFileError) as err:
        config_files.check_files([path])
    assert str(err.value).startswith('config file %r: ' % path)
    return str(err.value)


def test_section_may_be_in_another_file(tmp_path):
    (tmp_path / 'ryu.conf').write_bytes(b'[DEFAULT]\nwsapi_port = 8081\n')
    (tmp_path / 'node.conf').write_bytes(GOOD)
    paths = [str(tmp_path / 'ryu.conf'), str(tmp_path / 'node.conf')]
    assert len(config_files.check_files(paths)) == 2
    with pytest.raises(config.ConfigFileError, match="no .vxlan_vpc. section nor in '"):
        config_files.check_files(paths[:1] * 2)


def test_load_file_runs_the_file_checks(tmp_path):
    (tmp_path / 'n.conf').write_bytes(GOOD + b'remote_ip = 1.2.3.4\n')
    with pytest.raises(config.ConfigError, match='did you mean remote_ips'):
        config.load_file(str(tmp_path / 'n.conf'))


def test_messages_stay_one_line():
    err = config.ConfigError('x', 'a', 'b\nc\u2028d\re')
    assert len(str(err).splitlines()) == 1
    assert len(str(config.ConfigFileError('p\nq', 'why\x85')).splitlines()) == 1


# --- VTEP addresses: config and registry refuse the same ones ------------------------------

UNUSABLE = ('0.0.0.0', '0.1.2.3', '127.0.0.1', '127.9.9.9', '224.0.0.5', '239.255.255.255',
            '255.255.255.255')


@pytest.mark.parametrize('address', UNUSABLE)
@pytest.mark.parametrize('option', ['local_ip', 'remote_ips'])
def test_vtep_refused_in_config(tmp_path, option, address):
    values = {'local_ip': '172.21.12.163', 'remote_ips': '172.21.12.8'}
    values[option] = address if option == 'local_ip' else '172.21.12.8,' + address
    path = tmp_path / 'n.conf'
    path.write_text('[vxlan_vpc]\n' + ''.join('%s = %s\n' % kv for kv in values.items()))
    with pytest.raises(config.ConfigError) as err:
        config.load_file(str(path))
    assert '[vxlan_vpc] %s = %r: ' % (option, address) in str(err.value)
    assert 'not usable as a VTEP' in str(err.value)


@pytest.mark.parametrize('address', ['172.21.12.8', '10.0.0.1', '169.254.1.1', '240.0.0.1'])
def test_vtep_accepted(tmp_path, address):
    path = tmp_path / 'n.conf'
    path.write_text('[vxlan_vpc]\nlocal_ip = %s\nremote_ips = 192.0.2.1\n' % address)
    assert config.load_file(str(path)).local_ip == address


@pytest.mark.parametrize('address', UNUSABLE)
def test_vtep_refused_in_registry(address):
    with pytest.raises(RecordError, match='local_ip %s is .*not a usable unicast' % address):
        parse_ipv4(address, 'local_ip')
    # fleet add-node checks before it touches etcd (the registry argument is never used)
    with pytest.raises(fleet.FleetError, match=address):
        fleet.add_node(None, 'n1', address)
    key = '/ryu-vxlan-vpc/nodes/bad'
    found, problems = parse_fleet('/ryu-vxlan-vpc', {
        key: '{"local_ip": "%s"}' % address,
        '/ryu-vxlan-vpc/nodes/good': '{"local_ip": "172.21.12.8"}'})
    assert list(found.nodes) == ['good']
    assert [k for k, _ in problems] == [key] and address in problems[0][1]


@pytest.mark.parametrize('host,port,ok', [
    ('0.0.0.0', 8080, True), ('::1', 8080, True), ('', 1, True), ('localhost', 65535, True),
    ('999.1.1.1', 8080, False), ('example.org', 8080, False), ('127.0.0.1', 0, False),
    ('127.0.0.1', 70000, False)])
def test_rest_listener(host, port, ok):
    class Conf:
        wsapi_host, wsapi_port = host, port
    if ok:
        config.check_rest_listener(Conf)
    else:
        with pytest.raises(config.ConfigError, match=r'\[DEFAULT\] wsapi_'):
            config.check_rest_listener(Conf)
