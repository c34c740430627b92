"""``ryu-vxlan-vpc bootstrap`` / ``teardown`` run as a program against a real private OVS.

Each test has its own node namespace with ovsdb-server + ovs-vswitchd (fixture ``node``) and
a uniquely named VM namespace that is deleted afterwards, pass or fail.
"""
import json
import os
import re
import shlex
import subprocess
import uuid

import pytest

from realenv import BIN
from ryu_vxlan_vpc.shell import run

CLI = os.path.join(BIN, 'ryu-vxlan-vpc')
TUNNEL = 'vxlan-ac150c08'              # remote VTEP 172.21.12.8 in 8 hex digits
CONTROLLER = 'tcp:127.0.0.1:6653'      # not the default 6633: it must come from the config
OPTIONS = {'remote_ip': '172.21.12.8', 'local_ip': '172.21.12.163', 'dst_port': '4789',
           'df_default': 'true'}
BOOTSTRAP_STEPS = 27   # 2 bridges, 2 patch ports, 1 tunnel + its BFD, 7 per VM port, 7 for the
                       # VM netns
# The last line of a bootstrap that OVS carried out: 2 bridges, 2 patch ports, 1 tunnel, 2 VMs.
READ_BACK = 'read back: 7 bridges and interfaces, each with an OpenFlow port'
TEARDOWN_STEPS = 13    # 3 per VM port, 2 for the VM netns, 1 tunnel, 2 patch ports, 2 bridges


@pytest.fixture
def vm_ns():
    name = 't3vm-%s' % uuid.uuid4().hex[:8]
    try:
        yield name
    finally:
        run(['ip', 'netns', 'del', name], check=False)


def write_conf(tmp_path, vm_ns, filename='node.conf', **override):
    opts = {'local_ip': '172.21.12.163', 'remote_ips': '172.21.12.8',
            'vpcs': '0x22:12, 0x23:13', 'datapath_type': 'netdev', 'controller': CONTROLLER,
            'vm_ports': '123:0x22:%s:192.168.10.11/24, 456:0x23' % vm_ns}
    opts.update(override)
    path = tmp_path / filename
    path.write_text('[vxlan_vpc]\n' + ''.join('%s = %s\n' % kv for kv in opts.items()))
    return path


def cli(node, verb, conf, *extra):
    argv = [CLI, verb, '--config-file', str(conf), '--ovs-rundir', node.rundir,
            '--netns', node.netns, *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


# --- what the node looks like, read with plain ovs-vsctl and ip -------------------------

def get(node, table, record, *columns):
    return dict(zip(columns, node.vsctl('get', table, record, *columns).splitlines()))


def omap(text):
    """ovs-vsctl's map syntax {a="b", c=d} -> dict."""
    pairs = (kv.split('=', 1) for kv in text.strip('{}').split(', ') if kv)
    return {k: v.strip('"') for k, v in pairs}


def ovs_state(node):
    """Every bridge: its columns, controllers and ports (tag, interface type, options)."""
    state = {}
    for br in node.vsctl('list-br').split():
        ports = {}
        for p in node.vsctl('list-ports', br).split():
            ports[p] = dict(get(node, 'port', p, 'tag'),
                            **get(node, 'interface', p, 'type', 'options', 'error'))
            ports[p]['options'] = omap(ports[p]['options'])
        state[br] = dict(get(node, 'bridge', br, 'fail_mode', 'protocols', 'datapath_type'),
                         controller=node.vsctl('get-controller', br).split(), ports=ports)
    return state


def ns_exists(name):
    return name in run(['ip', 'netns', 'list']).stdout.split()


def link_lines(ns):
    """``ip -o link`` and IPv4 addresses, without operational state (carrier, operstate)."""
    text = ''.join(run(['ip', '-n', ns, '-o', *what]).stdout for what in (['link'], ['-4', 'addr']))
    return sorted(re.sub(r'\bstate \S+ |,?\b(LOWER_UP|NO-CARRIER)\b', '', line)
                  for line in text.splitlines())


def snapshot(node, vm_ns):
    return {'ovs': ovs_state(node), 'links': link_lines(node.netns),
            'vm': link_lines(vm_ns) if ns_exists(vm_ns) else None}


def link(ns, name):
    [info] = json.loads(run(['ip', '-n', ns, '-j', '-d', 'addr', 'show', 'dev', name]).stdout)
    return info


def link_names(ns, *where):
    """Names of the links in ``ns`` (``where``: e.g. master BRIDGE)."""
    return sorted(i['ifname'] for i in json.loads(
        run(['ip', '-n', ns, '-j', 'link', 'show', *where]).stdout))


# --- tests -----------------------------------------------------------------------------

def test_dry_run_prints_the_plan_and_changes_nothing(node, vm_ns, tmp_path):
    conf = write_conf(tmp_path, vm_ns)
    before = snapshot(node, vm_ns)
    plan = [shlex.split(line) for line in ok(cli(node, 'bootstrap', conf, '--dry-run'))]
    assert snapshot(node, vm_ns) == before
    assert before['vm'] is None and before['ovs'] == {}

    vsctl = ['ovs-vsctl', '--db=unix:%s/db.sock' % node.rundir, '--']
    assert vsctl + ['--may-exist', 'add-br', 'br-tun', '--', 'set', 'bridge', 'br-tun',
                    'fail_mode=secure', 'protocols=OpenFlow10,OpenFlow13',
                    'datapath_type=netdev', '--', 'set-controller', 'br-tun', CONTROLLER,
                    '--', 'set', 'controller', 'br-tun', 'connection_mode=out-of-band'] in plan
    assert vsctl + ['--if-exists', 'del-port', 'br-tun', TUNNEL, '--', 'add-port', 'br-tun',
                    TUNNEL, '--', 'set', 'interface', TUNNEL, 'type=vxlan',
                    'options:remote_ip=172.21.12.8', 'options:local_ip=172.21.12.163',
                    'options:dst_port=4789', 'options:df_default=true',
                    'options:in_key=flow', 'options:out_key=flow',
                    '--', 'set', 'port', TUNNEL,
                    'external_ids:ryu-vxlan-vpc-remote=172.21.12.8'] in plan
    assert vsctl + ['set', 'interface', TUNNEL, 'bfd:enable=true', 'bfd:min_rx=300',
                    'bfd:min_tx=300'] in plan
    assert ['ip', 'netns', 'add', vm_ns] in plan
    assert ['ip', '-n', vm_ns, 'addr', 'add', '192.168.10.11/24', 'dev', 'eth0'] in plan
    assert len(plan) == BOOTSTRAP_STEPS
    for argv in plan:   # every command aims at the private OVS or a namespace, never the host
        assert (argv[:3] == vsctl or argv[:3] in (['ip', '-n', node.netns], ['ip', '-n', vm_ns])
                or argv == ['ip', 'netns', 'add', vm_ns]), argv


def test_bootstrap_builds_the_articles_node(node, vm_ns, tmp_path):
    ok(cli(node, 'bootstrap', write_conf(tmp_path, vm_ns)))
    ovs = ovs_state(node)
    assert sorted(ovs) == ['br-int', 'br-tun']
    tun, int_ = ovs['br-tun'], ovs['br-int']
    assert (tun['fail_mode'], tun['datapath_type'], tun['controller']) == (
        'secure', 'netdev', [CONTROLLER])
    assert 'OpenFlow13' in tun['protocols']
    assert (int_['fail_mode'], int_['datapath_type'], int_['controller']) == (
        'standalone', 'netdev', [])
    assert sorted(tun['ports']) == ['patch-int', TUNNEL]
    assert sorted(int_['ports']) == ['patch-tun', 'qvo123', 'qvo456']
    assert tun['ports']['patch-int'] == {'tag': '[]', 'type': 'patch', 'error': '[]',
                                         'options': {'peer': 'patch-tun'}}
    assert int_['ports']['patch-tun']['options'] == {'peer': 'patch-int'}
    assert tun['ports'][TUNNEL] == {'tag': '[]', 'type': 'vxlan', 'error': '[]', 'options': dict(
        OPTIONS, in_key='flow', out_key='flow')}
    assert [(int_['ports'][p]['tag'], int_['ports'][p]['type'], int_['ports'][p]['error'])
            for p in ('qvo123', 'qvo456')] == [('12', '""', '[]'), ('13', '""', '[]')]
    assert node.vsctl('get', 'interface', TUNNEL, 'bfd').strip() == \
        '{enable="true", min_rx="300", min_tx="300"}'

    ns = node.netns
    for vm in ('123', '456'):
        assert link(ns, 'qbr' + vm)['linkinfo']['info_kind'] == 'bridge'
        assert link(ns, 'qvo' + vm)['linkinfo']['info_kind'] == 'veth'
        for name in ('qbr', 'qvo', 'qvb'):
            assert 'UP' in link(ns, name + vm)['flags'], name + vm
    assert link_names(ns, 'master', 'qbr123') == ['qvb123', 'tap123']
    assert link_names(ns, 'master', 'qbr456') == ['qvb456']
    assert 'UP' in link(ns, 'tap123')['flags']
    eth0 = link(vm_ns, 'eth0')
    assert 'UP' in eth0['flags']
    assert [(a['local'], a['prefixlen']) for a in eth0['addr_info']
            if a['family'] == 'inet'] == [('192.168.10.11', 24)]


def test_second_bootstrap_changes_nothing(node, vm_ns, tmp_path):
    conf = write_conf(tmp_path, vm_ns)
    first = ok(cli(node, 'bootstrap', conf))
    assert first[-2:] == ['bootstrap: %d steps: %d run, 0 already done' % ((BOOTSTRAP_STEPS,) * 2),
                          READ_BACK]
    before = snapshot(node, vm_ns)
    again = ok(cli(node, 'bootstrap', conf))
    assert again[0].endswith(': %d steps' % BOOTSTRAP_STEPS)
    assert len(again) == BOOTSTRAP_STEPS + 3
    assert [line for line in again[1:-2] if not line.startswith('  = ')] == []
    assert again[-2:] == ['bootstrap: nothing to do, all %d steps already done' % BOOTSTRAP_STEPS,
                          READ_BACK]
    assert snapshot(node, vm_ns) == before


def test_teardown_removes_exactly_what_bootstrap_made(node, vm_ns, tmp_path):
    conf = write_conf(tmp_path, vm_ns)
    node.vsctl('add-br', 'br-keep', '--', 'set', 'bridge', 'br-keep', 'datapath_type=netdev',
               '--', 'add-port', 'br-keep', 'keep-p', '--', 'set', 'interface', 'keep-p',
               'type=internal')
    run(['ip', '-n', node.netns, 'link', 'add', 'keep0', 'type', 'veth', 'peer', 'name', 'keep1'])
    before = snapshot(node, vm_ns)
    ok(cli(node, 'bootstrap', conf))
    assert snapshot(node, vm_ns) != before
    out = ok(cli(node, 'teardown', conf))
    assert out[-1] == 'teardown: %d steps: %d run, 0 already done' % ((TEARDOWN_STEPS,) * 2)
    assert snapshot(node, vm_ns) == before
    assert sorted(before['ovs']['br-keep']['ports']) == ['keep-p']
    assert not ns_exists(vm_ns)
    again = ok(cli(node, 'teardown', conf))
    assert again[-1] == 'teardown: nothing to do, all %d steps already done' % TEARDOWN_STEPS
    assert snapshot(node, vm_ns) == before


def test_teardown_keeps_what_holds_something_foreign(node, vm_ns, tmp_path):
    conf = write_conf(tmp_path, vm_ns)
    ok(cli(node, 'bootstrap', conf))
    node.vsctl('add-port', 'br-int', 'extra', '--', 'set', 'interface', 'extra', 'type=internal')
    run(['ip', '-n', vm_ns, 'link', 'add', 'extra0', 'type', 'bridge'])   # no dummy module
    run(['ip', '-n', node.netns, 'link', 'add', 'extra1', 'master', 'qbr456', 'type', 'veth',
         'peer', 'name', 'extra2'])
    out = ok(cli(node, 'teardown', conf))
    assert [line for line in out if line.startswith('  ! ')] == [
        '  ! namespace %s: kept: it holds interfaces bootstrap did not make: extra0' % vm_ns,
        '  ! Linux bridge qbr456: kept: it holds interfaces bootstrap did not make: extra1',
        '  ! bridge br-int: kept: it holds ports bootstrap did not make: extra']
    assert out[-1].endswith(', 3 kept (see "!" above)')
    ovs = ovs_state(node)
    assert sorted(ovs) == ['br-int'] and sorted(ovs['br-int']['ports']) == ['extra']
    assert link_names(vm_ns) == ['extra0', 'lo']
    assert link_names(node.netns, 'master', 'qbr456') == ['extra1']
    assert 'qbr123' not in link_names(node.netns)


def test_standalone_check_and_back(node, vm_ns, tmp_path):
    conf = write_conf(tmp_path, vm_ns)
    ok(cli(node, 'bootstrap', conf, '--standalone-check'))
    tun = ovs_state(node)['br-tun']
    assert (tun['fail_mode'], tun['controller']) == ('standalone', [])
    # The first VPC's VNI as fixed key; tagged with its local VLAN: frames cross untagged.
    assert tun['ports'][TUNNEL]['options'] == dict(OPTIONS, key='0x22')
    assert tun['ports'][TUNNEL]['tag'] == '12'

    ok(cli(node, 'bootstrap', conf))
    tun = ovs_state(node)['br-tun']
    assert (tun['fail_mode'], tun['controller']) == ('secure', [CONTROLLER])
    assert tun['ports'][TUNNEL]['options'] == dict(OPTIONS, in_key='flow', out_key='flow')
    assert tun['ports'][TUNNEL]['tag'] == '[]'


@pytest.mark.parametrize('option, value, why', [
    ('vpcs', '0x22:5000', 'local VLAN 5000 is outside 1..4094'),
    ('local_ip', '172.21.12', 'not an IPv4 address'),
    ('vm_ports', '123:0x22:{node}:192.168.10.11/24',
     "a VM namespace cannot be the node's own namespace"),
])
def test_bad_config_exits_2_and_changes_nothing(node, vm_ns, tmp_path, option, value, why):
    bad = write_conf(tmp_path, vm_ns, 'bad.conf', **{option: value.format(node=node.netns)})
    shown = node.netns if option == 'vm_ports' else value   # the plan names the namespace
    for verb in ('bootstrap', 'teardown'):   # bootstrap on a fresh node, teardown on a built one
        if verb == 'teardown':
            ok(cli(node, 'bootstrap', write_conf(tmp_path, vm_ns)))
        before = snapshot(node, vm_ns)
        proc = cli(node, verb, bad)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stdout == ''
        first, *rest = proc.stderr.splitlines()
        # Errors found while reading the file may name it first (config file 'PATH': ...).
        assert re.fullmatch(re.escape('ryu-vxlan-vpc %s: ' % verb) + '(%s)?' % re.escape(
            "config file '%s': " % bad) + re.escape('[vxlan_vpc] %s = %r: %s'
                                                  % (option, shown, why)), first), first
        assert rest == ['nothing was changed']
        assert snapshot(node, vm_ns) == before


def test_address_left_remote_ips_removes_our_tunnel_only(node, tmp_path, vm_ns):
    conf = write_conf(tmp_path, vm_ns, remote_ips='172.21.12.8, 172.21.12.9')
    ok(cli(node, 'bootstrap', conf))
    assert get(node, 'Port', 'vxlan-ac150c09', 'external_ids') == {
        'external_ids': '{ryu-vxlan-vpc-remote="172.21.12.9"}'}
    # A vxlan-* port bootstrap did not make (no mark): never removed.
    node.vsctl('add-port', 'br-tun', 'vxlan-foreign', '--', 'set', 'interface',
               'vxlan-foreign', 'type=vxlan', 'options:remote_ip=172.21.12.99')
    conf = write_conf(tmp_path, vm_ns, remote_ips='172.21.12.8')
    out = ok(cli(node, 'bootstrap', conf))
    assert any('del-port br-tun vxlan-ac150c09' in line for line in out), out
    ports = node.vsctl('list-ports', 'br-tun').split()
    assert 'vxlan-ac150c09' not in ports and {TUNNEL, 'vxlan-foreign'} <= set(ports)
    assert ok(cli(node, 'bootstrap', conf))[-2].startswith('bootstrap: nothing to do')
