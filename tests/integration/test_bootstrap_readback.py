"""Bootstrap reads back what ovs-vswitchd made of its plan, against a real private OVS.

ovs-vsctl succeeds as soon as the database holds the rows; whether ovs-vswitchd could make
the bridges and open the interfaces only shows afterwards (``ofport``, ``error``). These
tests break that on purpose and expect exit 1 naming each failure with OVS's own words.
"""
import subprocess
import uuid

import pytest

from test_bootstrap_real_ovs import CLI, cli, ok, vm_ns, write_conf  # noqa: F401 (fixture)
from ryu_vxlan_vpc.shell import run

NETDEV_HINT = 'set datapath_type = netdev'


@pytest.fixture
def elsewhere():
    """A namespace that is not the one ovs-vswitchd runs in."""
    name = 't3x-%s' % uuid.uuid4().hex[:8]
    run(['ip', 'netns', 'add', name])
    try:
        yield name
    finally:
        run(['ip', 'netns', 'del', name], check=False)


def ofports(node):
    """{interface: ofport text} as ovs-vsctl prints it ('[]' when OVS gave none)."""
    out = node.vsctl('--format=csv', '--no-headings', '--columns=name,ofport', 'list',
                     'Interface')
    return dict(line.split(',', 1) for line in out.splitlines())


def test_system_datapath_without_kernel_module_fails_naming_ovs_error(node, tmp_path):
    conf = write_conf(tmp_path, None, datapath_type='system', vm_ports='123:0x22')
    proc = cli(node, 'bootstrap', conf)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr
    # One line per bridge OVS did not create, naming what therefore has no OpenFlow port.
    assert ('bridge br-tun: ovs-vswitchd did not create it (datapath_type system), so '
            'br-tun, patch-int, vxlan-ac150c08 have no OpenFlow port') in err, err
    assert ('bridge br-int: ovs-vswitchd did not create it (datapath_type system), so '
            'br-int, patch-tun, qvo123 have no OpenFlow port') in err, err
    # OVS's own words for why (no openvswitch kernel module here), and what to do.
    assert 'No such file or directory' in err and 'kernel module' in err, err
    assert NETDEV_HINT in err, err
    assert set(ofports(node).values()) == {'[]'}

    # Nothing left to run the second time, yet it still reads back and still fails.
    again = cli(node, 'bootstrap', conf)
    assert again.returncode == 1, again.stdout + again.stderr
    assert 'bootstrap: nothing to do' in again.stdout
    assert NETDEV_HINT in again.stderr

    # The fix the hint gives works on the same node: bootstrap is idempotent.
    fixed = ok(cli(node, 'bootstrap', write_conf(tmp_path, None, vm_ports='123:0x22')))
    assert fixed[-1] == 'read back: 6 bridges and interfaces, each with an OpenFlow port'
    assert '[]' not in ofports(node).values() and '-1' not in ofports(node).values()


def test_interface_ovs_cannot_open_is_named_with_ovs_error(node, tmp_path, elsewhere):
    # The VM port's veth is made in another namespace than ovs-vswitchd's: OVS cannot open
    # it and says so in the Interface's error column.
    conf = write_conf(tmp_path, None, vm_ports='123:0x22')
    argv = ['bootstrap', '--config-file', str(conf), '--ovs-rundir', node.rundir,
            '--netns', elsewhere]
    proc = subprocess.run([CLI] + argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert ('  VM port qvo123 on br-int: could not open network device qvo123 '
            '(No such device)') in lines, lines
    assert not any('bridge br-' in line for line in lines), lines   # both bridges are fine
    assert NETDEV_HINT not in proc.stderr
    assert ofports(node)['qvo123'] == '-1'


def test_netdev_bootstrap_reads_back_every_interface(node, tmp_path, vm_ns):
    out = ok(cli(node, 'bootstrap', write_conf(tmp_path, vm_ns)))
    # 2 bridges, 2 patch ports, 1 tunnel, 2 VM ports
    assert out[-1] == 'read back: 7 bridges and interfaces, each with an OpenFlow port'

