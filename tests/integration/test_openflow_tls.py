"""The README's TLS setup, run as written: ovs-pki, ovs-vsctl set-ssl, an ssl: controller
target and ryu-manager with --ctl-privkey/--ctl-cert/--ca-certs. br-tun gets the pipeline
over TLS, and the plain-TCP port is not listening."""
import subprocess

from article_node import COMPUTE1_CONF, build_article_br_tun
from realenv import RyuManager, wait_for
from test_app_hardening import listening
from test_app_real_switch import expected, wait_flows

SSL_PORT = 6653


def test_pipeline_over_tls_with_the_readme_commands(node, tmp_path):
    pki = tmp_path / 'pki'
    for argv in (['ovs-pki', 'init', '--dir=%s' % pki, '--force'],
                 ['ovs-pki', 'req+sign', 'ctl', 'controller', '--dir=%s' % pki],
                 ['ovs-pki', 'req+sign', 'sc', 'switch', '--dir=%s' % pki]):
        subprocess.run(argv, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    build_article_br_tun(node)
    node.vsctl('set-ssl', str(tmp_path / 'sc-privkey.pem'), str(tmp_path / 'sc-cert.pem'),
               str(pki / 'controllerca' / 'cacert.pem'))
    node.vsctl('set-controller', 'br-tun', 'ssl:127.0.0.1:%d' % SSL_PORT)
    ryu = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'ryu.log'), extra=[
        '--ofp-ssl-listen-port', str(SSL_PORT),
        '--ctl-privkey', str(tmp_path / 'ctl-privkey.pem'),
        '--ctl-cert', str(tmp_path / 'ctl-cert.pem'),
        '--ca-certs', str(pki / 'switchca' / 'cacert.pem')])
    ryu.start()
    try:
        wait_flows(node, expected((8,)))
        assert listening(node.netns) == ['127.0.0.1:%d' % SSL_PORT, '127.0.0.1:8080']
        # OVS writes the controller's status to its database every few seconds.
        wait_for(lambda: node.vsctl('get', 'controller', 'br-tun', 'is_connected').strip()
                 == 'true', 15, 'OVSDB to report the TLS controller connected')
    finally:
        ryu.stop()
