"""Pure planning of bootstrap/teardown: commands, checks, validation, the thin executor."""
import dataclasses
import json
import os
import shlex

import pytest

from ryu_vxlan_vpc import cli, config, shell
from ryu_vxlan_vpc.bootstrap import execute, plan as P, readback, state
from ryu_vxlan_vpc.bootstrap.state import Link, Observed, OvsBridge, OvsPort

ETC = os.path.join(os.path.dirname(__file__), '..', '..', 'etc', 'ryu_vxlan_vpc')
C1 = config.load_file(os.path.join(ETC, 'compute1.conf'))

# The article's compute1 steps, as bootstrap plans them for etc/compute1.conf.
C1_COMMANDS = '''\
ovs-vsctl -- --may-exist add-br br-tun -- set bridge br-tun fail_mode=secure protocols=OpenFlow10,OpenFlow13 datapath_type=netdev -- set-controller br-tun tcp:127.0.0.1:6633 -- set controller br-tun connection_mode=out-of-band
ovs-vsctl -- --may-exist add-br br-int -- set bridge br-int fail_mode=standalone datapath_type=netdev
ovs-vsctl -- --may-exist add-port br-tun patch-int -- set interface patch-int type=patch options:peer=patch-tun
ovs-vsctl -- --may-exist add-port br-int patch-tun -- set interface patch-tun type=patch options:peer=patch-int
ovs-vsctl -- --if-exists del-port br-tun vxlan-ac150c08 -- add-port br-tun vxlan-ac150c08 -- set interface vxlan-ac150c08 type=vxlan options:remote_ip=172.21.12.8 options:local_ip=172.21.12.163 options:dst_port=4789 options:df_default=true options:in_key=flow options:out_key=flow -- set port vxlan-ac150c08 external_ids:ryu-vxlan-vpc-remote=172.21.12.8
ovs-vsctl -- set interface vxlan-ac150c08 bfd:enable=true bfd:min_rx=300 bfd:min_tx=300
ip link add qbr123 type bridge mcast_snooping 0
ip link set qbr123 up
ip link add qvo123 type veth peer name qvb123
ip link set qvo123 up
ip link set qvb123 up
ip link set qvb123 master qbr123
ovs-vsctl -- --may-exist add-port br-int qvo123 -- set port qvo123 tag=12
ip netns add c1-test
ip -n c1-test link set lo up
ip link add tap123 type veth peer name eth0 netns c1-test
ip link set tap123 master qbr123
ip link set tap123 up
ip -n c1-test link set eth0 up
ip -n c1-test addr add 192.168.10.11/24 dev eth0
'''.splitlines()

TUN_OPTS = (('df_default', 'true'), ('dst_port', '4789'), ('in_key', 'flow'),
            ('local_ip', '172.21.12.163'), ('out_key', 'flow'), ('remote_ip', '172.21.12.8'))


MARK = (('ryu-vxlan-vpc-remote', '172.21.12.8'),)
BFD = (('enable', 'true'), ('min_rx', '300'), ('min_tx', '300'))


def finished_c1(netns=None):
    """What a node looks like after bootstrap of compute1.conf."""
    return Observed(
        bridges={
            'br-tun': OvsBridge('br-tun', 'secure', ('OpenFlow10', 'OpenFlow13'), 'netdev',
                                (('tcp:127.0.0.1:6633', 'out-of-band'),),
                                frozenset({'br-tun', 'patch-int', 'vxlan-ac150c08'})),
            'br-int': OvsBridge('br-int', 'standalone', (), 'netdev', (),
                                frozenset({'br-int', 'patch-tun', 'qvo123'}))},
        ports={
            'br-tun': OvsPort('br-tun', 'br-tun', None, 'internal'),
            'br-int': OvsPort('br-int', 'br-int', None, 'internal'),
            'patch-int': OvsPort('patch-int', 'br-tun', None, 'patch', (('peer', 'patch-tun'),)),
            'patch-tun': OvsPort('patch-tun', 'br-int', None, 'patch', (('peer', 'patch-int'),)),
            'vxlan-ac150c08': OvsPort('vxlan-ac150c08', 'br-tun', None, 'vxlan', TUN_OPTS,
                                      external_ids=MARK, bfd=BFD),
            'qvo123': OvsPort('qvo123', 'br-int', 12)},
        links={
            netns: {'lo': Link('lo', '', True),
                    'qbr123': Link('qbr123', 'bridge', True),
                    'qvo123': Link('qvo123', 'veth', True),
                    'qvb123': Link('qvb123', 'veth', True, 'qbr123'),
                    'tap123': Link('tap123', 'veth', True, 'qbr123')},
            'c1-test': {'lo': Link('lo', '', True),
                        'eth0': Link('eth0', 'veth', True, None,
                                     frozenset({'192.168.10.11/24'}))}},
        namespaces=frozenset({'c1-test'} | ({netns} if netns else set())))


def lines(plan):
    return [shlex.join(step.argv) for step in plan.steps]


# --- the plan ---------------------------------------------------------------------------

def test_compute1_plan_is_the_articles_steps():
    assert lines(P.plan_bootstrap(C1)) == C1_COMMANDS


def test_every_step_runs_on_a_fresh_node_and_none_on_a_finished_one():
    plan = P.plan_bootstrap(C1)
    fresh = Observed(links={None: {'lo': Link('lo', '', True)}})
    assert [s.check(fresh) for s in plan.steps] == [None] * len(plan.steps)
    done = [s.check(finished_c1()) for s in plan.steps]
    assert all(done), [s.what for s, d in zip(plan.steps, done) if not d]
    assert plan.namespaces == ('c1-test',)


def test_target_puts_db_on_ovs_vsctl_and_node_netns_on_ip():
    target = P.Target.make(ovs_rundir='/run/lab/compute1/ovs', netns='compute1')
    plan = P.plan_bootstrap(C1, target)
    for step in plan.steps:
        if step.argv[0] == 'ovs-vsctl':
            assert step.argv[1] == '--db=unix:/run/lab/compute1/ovs/db.sock'
        elif step.argv[:3] == ('ip', 'netns', 'add'):
            assert step.argv[3] == 'c1-test'
        else:
            assert step.argv[:3] in (('ip', '-n', 'compute1'), ('ip', '-n', 'c1-test')), step
    assert ('ip', '-n', 'compute1', 'link', 'add', 'tap123', 'type', 'veth', 'peer', 'name',
            'eth0', 'netns', 'c1-test') in [s.argv for s in plan.steps]
    done = [s.check(finished_c1('compute1')) for s in plan.steps]
    assert all(done)


def test_br_tun_with_wrong_fail_mode_or_controller_is_redone_whole():
    step = P.plan_bootstrap(C1).steps[0]
    obs = finished_c1()
    assert step.check(obs)
    for change in ({'fail_mode': 'standalone'}, {'controllers': ()},
                   {'controllers': (('tcp:127.0.0.1:6633', None),)},
                   {'controllers': (('tcp:127.0.0.1:6653', 'out-of-band'),)},
                   {'protocols': ('OpenFlow13',)}, {'datapath_type': 'system'}):
        obs.bridges['br-tun'] = dataclasses.replace(finished_c1().bridges['br-tun'], **change)
        assert step.check(obs) is None, change
    # The controller is set in the same ovs-vsctl transaction as add-br.
    argv = step.argv
    assert argv.index('add-br') < argv.index('set-controller')
    assert 'connection_mode=out-of-band' in argv


def test_tunnel_with_a_stale_option_or_tag_is_replaced():
    step = next(s for s in P.plan_bootstrap(C1).steps if 'vxlan-ac150c08' in s.argv)
    obs = finished_c1()
    assert step.check(obs)
    stale = dict(TUN_OPTS, key='0x22')
    obs.ports['vxlan-ac150c08'] = OvsPort('vxlan-ac150c08', 'br-tun', None, 'vxlan',
                                          tuple(sorted(stale.items())))
    assert step.check(obs) is None
    obs.ports['vxlan-ac150c08'] = OvsPort('vxlan-ac150c08', 'br-tun', 12, 'vxlan', TUN_OPTS,
                                          external_ids=MARK)
    assert step.check(obs) is None
    assert step.argv[2:5] == ('--if-exists', 'del-port', 'br-tun')


def test_standalone_check_is_the_articles_underlay_test():
    plan = P.plan_bootstrap(C1, standalone_vni=0x22)
    br_tun = plan.steps[0]
    assert 'fail_mode=standalone' in br_tun.argv and 'del-controller' in br_tun.argv
    assert 'set-controller' not in br_tun.argv
    tunnel = plan.steps[4].argv
    assert 'options:key=0x22' in tunnel and 'options:in_key=flow' not in tunnel
    assert tunnel[-4:] == ('set', 'port', 'vxlan-ac150c08', 'tag=12')
    # A normal bootstrap does not count as done for the check, and the other way round.
    normal = finished_c1()
    assert br_tun.check(normal) is None and plan.steps[4].check(normal) is None
    # VM ports are the same in both modes.
    assert lines(plan)[5:] == C1_COMMANDS[5:]  # the BFD step, then the VM ports
    with pytest.raises(P.PlanError, match='0x23'):
        P.plan_bootstrap(C1, standalone_vni=0x23)


def test_vm_port_without_namespace_has_no_namespace_steps():
    s = dataclasses.replace(C1, vm_ports=(config.VmPort('7', 0x22),))
    text = '\n'.join(lines(P.plan_bootstrap(s)))
    assert 'qbr7' in text and 'qvo7' in text and 'netns' not in text and 'tap7' not in text


# --- validation -------------------------------------------------------------------------

def test_two_vm_ports_in_one_namespace_or_the_node_namespace_are_refused():
    two = dataclasses.replace(C1, vm_ports=(
        config.VmPort('1', 0x22, 'vm', '10.0.0.1/24'), config.VmPort('2', 0x22, 'vm',
                                                                     '10.0.0.2/24')))
    with pytest.raises(config.ConfigError, match=r"vm_ports = 'vm'"):
        P.plan_bootstrap(two)
    with pytest.raises(config.ConfigError, match="node's own namespace"):
        P.plan_bootstrap(C1, P.Target.make(netns='c1-test'))


@pytest.mark.parametrize('kwargs, match', [
    (dict(netns='bad name'), '--netns'),
    (dict(netns='a/b'), '--netns'),
    (dict(db='unix:/x', ovs_rundir='/y'), 'either'),
    (dict(ovs_rundir='relative/dir'), 'absolute'),
    (dict(db='/no/scheme'), '--db'),
])
def test_bad_targets_are_refused(kwargs, match):
    with pytest.raises(P.PlanError, match=match):
        P.Target.make(**kwargs)


def test_overlong_names_never_reach_a_command():
    long_bridge = dataclasses.replace(C1, tun_bridge='br-tun-way-too-long')
    with pytest.raises(config.ConfigError, match='tun_bridge'):
        P.plan_bootstrap(long_bridge)
    long_vm = dataclasses.replace(C1, vm_ports=(config.VmPort('1234567890123', 0x22),))
    with pytest.raises(config.ConfigError, match='qbr1234567890123'):
        P.plan_bootstrap(long_vm)


# --- teardown ---------------------------------------------------------------------------

def test_teardown_removes_what_bootstrap_makes():
    plan = P.plan_teardown(C1)
    assert lines(plan) == [
        'ip link del tap123', 'ip netns del c1-test',
        'ovs-vsctl -- --if-exists del-port br-int qvo123', 'ip link del qvo123',
        'ip link del qbr123', 'ovs-vsctl -- --if-exists del-port br-tun vxlan-ac150c08',
        'ovs-vsctl -- --if-exists del-port br-tun patch-int',
        'ovs-vsctl -- --if-exists del-port br-int patch-tun',
        'ovs-vsctl -- --if-exists del-br br-tun', 'ovs-vsctl -- --if-exists del-br br-int']
    empty = Observed(links={None: {}})
    assert all(step.check(empty) == 'not there' for step in plan.steps)


def test_teardown_keeps_what_holds_foreign_things():
    obs = Observed(
        bridges={'br-int': OvsBridge('br-int', 'standalone', (), 'netdev', (),
                                     frozenset({'br-int', 'eth9'})),
                 'br-tun': OvsBridge('br-tun', 'secure', (), 'netdev', (),
                                     frozenset({'br-tun'}))},
        links={None: {'qbr123': Link('qbr123', 'bridge'), 'vnet0': Link('vnet0', 'tun', True,
                                                                        'qbr123')},
               'c1-test': {'lo': Link('lo'), 'wg0': Link('wg0', 'wireguard')}},
        namespaces=frozenset({'c1-test'}))
    checks = {step.argv[-1]: step.check(obs) for step in P.plan_teardown(C1).steps}
    assert checks['br-int'].startswith('kept') and 'eth9' in checks['br-int']
    assert checks['br-tun'] is None
    assert checks['qbr123'].startswith('kept') and 'vnet0' in checks['qbr123']
    assert checks['c1-test'].startswith('kept') and 'wg0' in checks['c1-test']
    obs.links['c1-test'] = {'lo': Link('lo')}
    assert P.NetnsGone('c1-test')(obs) is None


def test_teardown_keeps_a_namesake_port_on_another_bridge():
    obs = finished_c1()
    obs.ports['patch-int'] = OvsPort('patch-int', 'br-other', None, 'patch')
    checks = {step.argv[-1]: step.check(obs) for step in P.plan_teardown(C1).steps}
    assert checks['patch-int'] == 'kept: it is on br-other, not br-tun'
    assert checks['patch-tun'] is None and checks['vxlan-ac150c08'] is None
    # A VM port found on another bridge: neither its del-port nor its veth deletion runs.
    obs.ports['qvo123'] = OvsPort('qvo123', 'br-other', 12)
    steps = P.plan_teardown(C1).steps
    checks = {shlex.join(step.argv): step.check(obs) for step in steps}
    for argv in ('ovs-vsctl -- --if-exists del-port br-int qvo123', 'ip link del qvo123'):
        assert checks[argv] == 'kept: it is on br-other, not br-int', argv


# --- parsers of real command output -------------------------------------------------------

OVS_JSON = '\n'.join(json.dumps(doc) for doc in [
    {'headings': ['_uuid', 'name', 'fail_mode', 'protocols', 'datapath_type', 'controller',
                  'ports'],
     'data': [[['uuid', 'b1'], 'br-tun', 'secure', ['set', ['OpenFlow10', 'OpenFlow13']],
               'netdev', ['uuid', 'c1'], ['set', [['uuid', 'p1'], ['uuid', 'p2']]]],
              [['uuid', 'b2'], 'br-int', ['set', []], ['set', []], '', ['set', []],
               ['uuid', 'p3']]]},
    {'headings': ['_uuid', 'name', 'tag', 'interfaces'],
     'data': [[['uuid', 'p1'], 'br-tun', ['set', []], ['uuid', 'i1']],
              [['uuid', 'p2'], 'vxlan-ac150c08', 12, ['uuid', 'i2']],
              [['uuid', 'p3'], 'br-int', ['set', []], ['uuid', 'i3']]]},
    {'headings': ['_uuid', 'name', 'type', 'options'],
     'data': [[['uuid', 'i1'], 'br-tun', 'internal', ['map', []]],
              [['uuid', 'i2'], 'vxlan-ac150c08', 'vxlan',
               ['map', [['key', '0x22'], ['remote_ip', '172.21.12.8']]]],
              [['uuid', 'i3'], 'br-int', 'internal', ['map', []]]]},
    {'headings': ['_uuid', 'target', 'connection_mode'],
     'data': [[['uuid', 'c1'], 'tcp:127.0.0.1:6633', 'out-of-band']]},
])


def test_parse_ovs_json():
    bridges, ports = state.parse_ovs(OVS_JSON)
    assert bridges['br-tun'] == OvsBridge(
        'br-tun', 'secure', ('OpenFlow10', 'OpenFlow13'), 'netdev',
        (('tcp:127.0.0.1:6633', 'out-of-band'),), frozenset({'br-tun', 'vxlan-ac150c08'}))
    assert bridges['br-int'] == OvsBridge('br-int', None, (), '', (), frozenset({'br-int'}))
    assert ports['vxlan-ac150c08'] == OvsPort(
        'vxlan-ac150c08', 'br-tun', 12, 'vxlan', (('key', '0x22'), ('remote_ip', '172.21.12.8')))


def test_parse_links_and_netns():
    text = json.dumps([
        {'ifname': 'lo', 'flags': ['LOOPBACK', 'UP'], 'addr_info': [
            {'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8}]},
        {'ifname': 'tap123', 'flags': ['BROADCAST'], 'master': 'qbr123',
         'linkinfo': {'info_kind': 'veth'}, 'addr_info': [
             {'family': 'inet6', 'local': 'fe80::1', 'prefixlen': 64}]}])
    links = state.parse_links(text)
    assert links['lo'] == Link('lo', '', True, None, frozenset({'127.0.0.1/8'}))
    assert links['tap123'] == Link('tap123', 'veth', False, 'qbr123')
    assert state.parse_netns('') == frozenset()
    assert state.parse_netns('[{"name":"a"},{"name":"b","id":3}]') == {'a', 'b'}


# --- the executor, with a fake runner -------------------------------------------------------

class FakeNode:
    """Answers the observation commands from an Observed; records and fails the rest."""

    def __init__(self, fail_on=None):
        self.ran, self.fail_on = [], fail_on

    def __call__(self, argv, timeout=None, **kw):
        out = ''
        if argv[0] == 'ovs-vsctl' and '--format=json' in argv:
            out = '\n'.join(json.dumps({'headings': [], 'data': []}) for _ in range(4))
        elif argv[:4] == ['ip', '-j', 'netns', 'list']:
            out = ''
        elif '-j' in argv:
            out = '[]'
        else:
            self.ran.append(argv)
            if self.fail_on and self.fail_on in argv:
                raise shell.CommandError(argv, 2, 'RTNETLINK answers: File exists')

        class Done:
            stdout = out
        return Done()


def test_apply_runs_every_step_of_a_fresh_node_in_order():
    node, out = FakeNode(), []
    result = execute.apply(P.plan_bootstrap(C1), P.Target(), out=out.append, run=node)
    assert [shlex.join(a) for a in node.ran] == C1_COMMANDS
    assert result.ran == len(C1_COMMANDS)
    assert out[-1] == 'bootstrap: 20 steps: 20 run, 0 already done'


def test_apply_stops_at_the_first_failing_command():
    node = FakeNode(fail_on='qvo123')
    with pytest.raises(shell.CommandError) as err:
        execute.apply(P.plan_bootstrap(C1), P.Target(), out=lambda line: None, run=node)
    assert shlex.join(node.ran[-1]) == 'ip link add qvo123 type veth peer name qvb123'
    assert 'ip link add qvo123' in str(err.value) and 'File exists' in str(err.value)


# --- the subcommands ------------------------------------------------------------------------

def test_dry_run_prints_the_plan_and_runs_nothing(capsys, monkeypatch):
    monkeypatch.setattr(shell.subprocess, 'run', pytest.fail)
    assert cli.main(['bootstrap', '--config-file', os.path.join(ETC, 'compute1.conf'),
                     '--dry-run']) == 0
    assert capsys.readouterr().out.splitlines() == C1_COMMANDS


def test_bad_config_exits_2_naming_option_and_value(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shell.subprocess, 'run', pytest.fail)
    conf = tmp_path / 'bad.conf'
    conf.write_text('[vxlan_vpc]\nlocal_ip = 172.21.12.163\nvpcs = 0x22:5000\n')
    assert cli.main(['bootstrap', '--config-file', str(conf)]) == 2
    err = capsys.readouterr().err
    assert "vpcs = '0x22:5000'" in err and 'nothing was changed' in err
    conf.write_text('[vxlan_vpc]\nlocal_ip = 172.21.12.163\nvpcs = 0x22:12\n'
                    'vm_ports = 1:0x22:ns1:10.0.0.1/24, 2:0x22:ns1:10.0.0.2/24\n')
    assert cli.main(['teardown', '--config-file', str(conf)]) == 2
    assert "vm_ports = 'ns1'" in capsys.readouterr().err
    assert cli.main(['bootstrap', '--config-file', str(tmp_path / 'missing.conf')]) == 2
    assert cli.main(['bootstrap', '--config-file', os.path.join(ETC, 'compute1.conf'),
                     '--standalone-check', 'zz']) == 2
    assert "--standalone-check 'zz'" in capsys.readouterr().err


# --- read back: what ovs-vswitchd made of the plan ------------------------------------------

def ovs_made(obs):
    """``obs`` as ovs-vswitchd leaves it once it made everything: datapath ids, ofports."""
    obs.bridges = {name: dataclasses.replace(b, datapath_id='0000%012x' % i)
                   for i, (name, b) in enumerate(sorted(obs.bridges.items()))}
    obs.ports = {name: dataclasses.replace(p, ofport=65534 if p.type == 'internal' else i + 1)
                 for i, (name, p) in enumerate(sorted(obs.ports.items()))}
    return obs


def read_back_check(obs):
    return readback.check(P.plan_bootstrap(C1).interfaces, obs.bridges, obs.ports)


def test_bootstrap_plan_lists_every_interface_ovs_must_open():
    assert [(e.role, e.name, e.bridge) for e in P.plan_bootstrap(C1).interfaces] == [
        ('bridge', 'br-tun', 'br-tun'), ('patch port', 'patch-int', 'br-tun'),
        ('VXLAN port', 'vxlan-ac150c08', 'br-tun'), ('bridge', 'br-int', 'br-int'),
        ('patch port', 'patch-tun', 'br-int'), ('VM port', 'qvo123', 'br-int')]
    assert P.plan_teardown(C1).interfaces == ()


def test_read_back_of_what_ovs_made_finds_nothing():
    assert read_back_check(ovs_made(finished_c1())) == ([], [])


def test_bridge_ovs_did_not_create_is_one_failure_naming_its_interfaces():
    obs = ovs_made(finished_c1())
    obs.bridges['br-tun'] = dataclasses.replace(obs.bridges['br-tun'], datapath_id=None,
                                                datapath_type='system')
    for name in ('br-tun', 'patch-int', 'vxlan-ac150c08'):
        obs.ports[name] = dataclasses.replace(obs.ports[name], ofport=None)
    failed, pending = read_back_check(obs)
    assert [f.line() for f in failed] == [
        'bridge br-tun: ovs-vswitchd did not create it (datapath_type system), so br-tun, '
        'patch-int, vxlan-ac150c08 have no OpenFlow port']
    assert failed[0].datapath_type == 'system' and pending == []


def test_interface_failures_carry_ovs_words_and_missing_ofports_are_pending():
    obs = ovs_made(finished_c1())
    obs.ports['qvo123'] = dataclasses.replace(
        obs.ports['qvo123'], ofport=-1, error='could not open network device qvo123 (No such '
                                              'device)')
    obs.ports['vxlan-ac150c08'] = dataclasses.replace(obs.ports['vxlan-ac150c08'], ofport=-1)
    obs.ports['patch-tun'] = dataclasses.replace(obs.ports['patch-tun'], ofport=None)
    obs.ports['br-int'] = dataclasses.replace(obs.ports['br-int'], error='boom')
    del obs.ports['patch-int']
    failed, pending = read_back_check(obs)
    assert [f.line() for f in failed] == [
        'patch port patch-int on br-tun: not in the OVS database',
        'VXLAN port vxlan-ac150c08 on br-tun: ovs-vswitchd could not add it (ofport -1, '
        'no error given)',
        'bridge br-int: boom',
        'VM port qvo123 on br-int: could not open network device qvo123 (No such device)']
    assert [f.line() for f in pending] == [
        'patch port patch-tun on br-int: no OpenFlow port after 15 s']
    assert not any(f.datapath_type for f in failed + pending)


def test_parse_ovs_reads_datapath_id_and_interface_error():
    text = '\n'.join(json.dumps(doc) for doc in [
        {'headings': ['_uuid', 'name', 'fail_mode', 'protocols', 'datapath_type',
                      'controller', 'ports', 'datapath_id'],
         'data': [[['uuid', 'b1'], 'br-tun', ['set', []], ['set', []], 'system',
                   ['set', []], ['uuid', 'p1'], ['set', []]],
                  [['uuid', 'b2'], 'br-int', ['set', []], ['set', []], 'netdev',
                   ['set', []], ['uuid', 'p2'], '0000aabbccddeeff']]},
        {'headings': ['_uuid', 'name', 'tag', 'interfaces'],
         'data': [[['uuid', 'p1'], 'br-tun', ['set', []], ['uuid', 'i1']],
                  [['uuid', 'p2'], 'qvo1', ['set', []], ['uuid', 'i2']]]},
        {'headings': ['_uuid', 'name', 'type', 'options', 'ofport', 'error'],
         'data': [[['uuid', 'i1'], 'br-tun', 'internal', ['map', []], ['set', []],
                   ['set', []]],
                  [['uuid', 'i2'], 'qvo1', '', ['map', []], -1,
                   'could not open network device qvo1 (No such device)']]},
        {'headings': ['_uuid', 'target', 'connection_mode'], 'data': []}])
    bridges, ports = state.parse_ovs(text)
    assert (bridges['br-tun'].datapath_id, bridges['br-int'].datapath_id) == (
        None, '0000aabbccddeeff')
    assert (ports['br-tun'].ofport, ports['br-tun'].error) == (None, None)
    assert (ports['qvo1'].ofport, ports['qvo1'].error) == (
        -1, 'could not open network device qvo1 (No such device)')


class Answers:
    """A runner answering by a word of the command (``{word: answer}``); records each argv."""

    def __init__(self, answers=None):
        self.answers, self.ran = answers or {}, []

    def __call__(self, argv, timeout=None, check=True, **kw):
        self.ran.append(list(argv))
        for word, answer in self.answers.items():
            if word in argv:
                if isinstance(answer, Exception):
                    raise answer
                return answer
        raise AssertionError('unexpected command %r' % argv)


def done(stdout='', stderr='', returncode=0):
    class Done:
        pass
    d = Done()
    d.stdout, d.stderr, d.returncode = stdout, stderr, returncode
    return d


def test_read_back_waits_for_ovs_vswitchd_then_for_pending_ofports(monkeypatch):
    pending_obs = ovs_made(finished_c1())
    pending_obs.ports['qvo123'] = dataclasses.replace(pending_obs.ports['qvo123'], ofport=None)
    seen = [(pending_obs.bridges, pending_obs.ports)]
    final = ovs_made(finished_c1())
    monkeypatch.setattr(readback, 'read_ovs', lambda target, run: (
        seen.pop(0) if seen else (final.bridges, final.ports)))
    run = Answers({'next_cfg': done('7\n'), 'wait-until': done()})
    target = P.Target.make(ovs_rundir='/run/x')
    assert readback.read_back(P.plan_bootstrap(C1, target), target, run) == []
    assert run.ran == [
        ['ovs-vsctl', '--db=unix:/run/x/db.sock', '--timeout=10', 'get', 'Open_vSwitch', '.',
         'next_cfg'],
        ['ovs-vsctl', '--db=unix:/run/x/db.sock', '--timeout=10', 'wait-until',
         'Open_vSwitch', '.', 'cur_cfg>=7']]
    assert seen == []   # read twice: once pending, once settled


def test_read_back_names_an_ovs_vswitchd_that_does_not_catch_up():
    run = Answers({'next_cfg': done('7\n'), 'wait-until': shell.CommandError(
        ['ovs-vsctl', 'wait-until'], 142, 'ovs-vsctl: timeout')})
    with pytest.raises(readback.NotApplied, match=r'within 10 s \(is it running\?\)'):
        readback.read_back(P.plan_bootstrap(C1), P.Target(), run)


DPCTL_STDERR = (
    "2024-01-01T00:00:00Z|00001|dpif_netlink|INFO|Generic Netlink family 'ovs_datapath' does "
    "not exist. The Open vSwitch kernel module is probably not loaded.\n"
    "2024-01-01T00:00:00Z|00002|dpif|WARN|failed to enumerate system datapaths: No such file "
    "or directory\n")


def test_system_datapath_failure_explained_with_ovs_words_and_the_netdev_hint():
    failed = [readback.Failure('bridge br-tun', 'ovs-vswitchd did not create it', 'system')]
    run = Answers({'dump-dps': done(stderr=DPCTL_STDERR, returncode=1)})
    lines = readback.explain(failed, P.Target(netns='c1'), 'bootstrap', 'n.conf', run)
    assert run.ran == [['ip', 'netns', 'exec', 'c1', 'ovs-dpctl', 'dump-dps']]
    assert lines[1:4] == [
        '  bridge br-tun: ovs-vswitchd did not create it',
        "  datapath type system: ovs-dpctl dump-dps says: Generic Netlink family "
        "'ovs_datapath' does not exist. The Open vSwitch kernel module is probably not "
        "loaded. / failed to enumerate system datapaths: No such file or directory",
        'hint: datapath_type = system needs the openvswitch kernel module; where the kernel '
        'has none, set datapath_type = netdev in [vxlan_vpc] of n.conf (the userspace '
        'datapath) and run bootstrap again']
    # When the kernel datapath does open, the cause is elsewhere: no netdev hint.
    run = Answers({'dump-dps': done('system@ovs-system\n')})
    lines = readback.explain(failed, P.Target(), 'bootstrap', 'n.conf', run)
    assert not any('netdev' in line for line in lines)
    assert "see ovs-vswitchd's log" in lines[2]
    # An OVS reached over TCP may be on another host: nothing is probed here.
    run = Answers()
    lines = readback.explain(failed, P.Target(db='tcp:10.0.0.1:6640'), 'bootstrap', 'n.conf',
                             run)
    assert run.ran == [] and any('set datapath_type = netdev' in line for line in lines)


def test_interface_failure_is_not_given_the_datapath_hint():
    failed = [readback.Failure('VM port qvo1 on br-int', 'could not open network device qvo1 '
                                                         '(No such device)')]
    lines = readback.explain(failed, P.Target(), 'bootstrap', 'n.conf', Answers())
    assert lines[0] == ("ryu-vxlan-vpc bootstrap: ovs-vswitchd could not make all that n.conf "
                        "asked for (1 failure):")
    assert lines[1] == '  VM port qvo1 on br-int: could not open network device qvo1 (No such ' \
                       'device)'
    assert not any('hint' in line for line in lines)
