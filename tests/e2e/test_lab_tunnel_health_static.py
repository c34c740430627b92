"""End to end: tunnel health from BFD in file mode, on the article's two nodes (static lab).

No registry here: bootstrap made the tunnels (with BFD) and ryu-manager reads their
bfd_status from the node's OVSDB every second all the same. A remote VTEP nobody has,
added to remote_ips and applied with SIGHUP, gets a tunnel that shows down within 5 s; a
tunnel stripped of BFD by hand shows no-bfd, and the next bootstrap gives it back in place.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from labrun import ETC, Built, lab_prefix
from realenv import http_get, require_real, wait_for
from ryu_vxlan_vpc.lab.lab import Lab
from ryu_vxlan_vpc.model import tunnel_port_name

CLI = os.path.join(os.path.dirname(sys.executable), 'ryu-vxlan-vpc')
REST = 'http://127.0.0.1:8080/vxlan-vpc'
C2_VTEP, GHOST_IP = '172.21.12.8', '172.21.12.250'
TO_C2, GHOST = tunnel_port_name(C2_VTEP), tunnel_port_name(GHOST_IP)


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    require_real()
    lab = Lab(str(tmp_path_factory.mktemp('lab') / 'state'), out=lambda line: None)
    try:
        pings = lab.up(nodes=2, prefix=lab_prefix(), config_dir=ETC, static=True)
        yield Built(lab, pings, [])
    finally:
        lab.down(quiet=True)


def health(built, node='compute1'):
    status, _, body = http_get(built.nodes[node]['netns'], REST + '/tunnels')
    assert status == 200, body
    return {t['name']: t['health'] for t in json.loads(body)['tunnels']}


def test_bootstraps_tunnels_show_up_in_file_mode(built):
    for node, peer in (('compute1', TO_C2), ('compute2', tunnel_port_name('172.21.12.163'))):
        wait_for(lambda: health(built, node) == {peer: 'up'}, 20, '%s up on %s' % (peer, node))


def test_a_remote_added_by_sighup_to_a_missing_vtep_shows_down_within_5s(built):
    node = built.nodes['compute1']
    conf = node['config']
    text = open(conf).read()
    new = re.sub(r'(?m)^remote_ips = .*$', 'remote_ips = %s, %s' % (C2_VTEP, GHOST_IP), text)
    assert new != text
    with open(conf, 'w') as f:
        f.write(new)
    t0 = time.monotonic()
    os.kill(node['ryu']['pid'], signal.SIGHUP)
    wait_for(lambda: health(built).get(GHOST) == 'down', 10, '%s down' % GHOST, interval=0.1)
    took = time.monotonic() - t0
    print('file mode: tunnel to a missing VTEP down %.2f s after SIGHUP' % took)
    assert took < 5.0, took
    assert health(built) == {TO_C2: 'up', GHOST: 'down'}
    assert built.ovs('compute1').vsctl('get', 'interface', GHOST, 'bfd:enable').strip() == \
        '"true"'


def test_a_tunnel_without_bfd_shows_no_bfd_and_bootstrap_sets_it_in_place(built):
    ovs = built.ovs('compute1')
    ofport = ovs.ofport(TO_C2)
    ovs.vsctl('remove', 'interface', TO_C2, 'bfd', 'enable')
    wait_for(lambda: health(built).get(TO_C2) == 'no-bfd', 5, '%s no-bfd' % TO_C2)
    node = built.nodes['compute1']
    out = subprocess.run([CLI, 'bootstrap', '--config-file', node['config'],
                          '--ovs-rundir', node['ovs_rundir'], '--netns', node['netns']],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    ran = [line for line in out.stdout.splitlines() if line.startswith('  + ')]
    assert ran == ['  + ovs-vsctl --db=unix:%s/db.sock -- set interface %s bfd:enable=true '
                   'bfd:min_rx=300 bfd:min_tx=300' % (node['ovs_rundir'], TO_C2)], out.stdout
    assert ovs.ofport(TO_C2) == ofport          # the same port: nothing re-made
    wait_for(lambda: health(built).get(TO_C2) == 'up', 10, '%s up again' % TO_C2)
