"""End to end: the live web page in a real browser, on a real two-node registry lab.

After a ping from compute1's VM to compute2's, the page is loaded from compute2 (whose
table 20 learned compute1's VM) in headless chromium running inside compute2's network
namespace (see browser.py for how). It must show the learned MAC with its tunnel and
VTEP, the VNI, each tunnel coloured by the health /switches reports, the fleet, the flow
counts; show br-tun leaving the controller and coming back; stay readable on a phone; and
survive its controller going away: a banner, the last data kept, and back to normal once
ryu-manager is up again. Screenshots (PNG) go to
the test's tmp dir.
"""
import json

import pytest

from browser import browser_in, full_page_png
from labrun import running_lab, vm_mac
from realenv import http_get, wait_for
from test_lab_registry import C2_VM, VNI, Fleet, ping, vm_ns
from ryu_vxlan_vpc import procs
from ryu_vxlan_vpc.model import tunnel_port_name
from ryu_vxlan_vpc.registry import fleet

NODE = 'compute2'
PAGE = 'http://127.0.0.1:8080/vxlan-vpc/ui/'
REST = 'http://127.0.0.1:8080/vxlan-vpc'
SIZES = {'laptop': (1280, 900), 'phone': (390, 844)}
# A VPC name the registry accepts (printable, up to 64 characters) that would run a script
# if the page put it into the DOM as markup.
MARKUP = '<img src=x onerror="window.pwned=1"><b>blue</b>'


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory, nodes=2) as lab:
        yield Fleet(lab)


def rest(netns, path):
    status, _, body = http_get(netns, REST + path)
    assert status == 200, body
    return json.loads(body)


def found(driver, css):
    """The elements matching ``css`` now (the page redraws every few seconds)."""
    from selenium.common.exceptions import WebDriverException
    try:
        return driver.find_elements('css selector', css)
    except WebDriverException:
        return []


def text_of(driver, css):
    from selenium.common.exceptions import WebDriverException
    try:
        return ' '.join(e.text for e in driver.find_elements('css selector', css))
    except WebDriverException:   # redrawn between find and read: ask again
        return ''


def learned_row(driver, mac):
    for row in found(driver, 'tr.mac-row.source-learned'):
        try:
            if row.find_element('css selector', 'td.mac').text == mac:
                return row.text
        except Exception:
            continue
    return None


def style(driver, css, prop):
    return driver.execute_script(
        'const e = document.querySelector(arguments[0]);'
        'return e ? getComputedStyle(e).getPropertyValue(arguments[1]) : null;', css, prop)


def test_page_shows_the_overlay_and_survives_the_controller_going_away(lab, tmp_path):
    c1_vm = vm_ns(lab, 'compute1', VNI)
    assert ping(c1_vm, C2_VM, 5) == 5
    mac = vm_mac(c1_vm)
    node = lab.node(NODE)
    netns = node['netns']
    c1_vtep = lab.node('compute1')['vtep']
    tunnel = tunnel_port_name(c1_vtep)
    # What the API says, to hold the page against.
    wait_for(lambda: any(m['mac'] == mac and m['source'] == 'learned'
                         for m in rest(netns, '/macs')['macs']), 10, 'the learned MAC in REST')
    ports = {p['name']: p for p in rest(netns, '/switches')['switches'][0]['tunnel_ports']}
    health = ports[tunnel].get('health', 'unknown')
    table20 = next(t['flows'] for t in rest(netns, '/tables')['tables'] if t['table'] == 20)
    lab.register(fleet.add_vpc, '%#x' % VNI, name=MARKUP)
    shots = []

    with browser_in(netns, *SIZES['laptop']) as driver:
        driver.get(PAGE)
        row = wait_for(lambda: learned_row(driver, mac), 20, 'the learned MAC %s on the page'
                       % mac)
        # The learned entry names its tunnel and the VTEP (with the node's name) behind it.
        assert tunnel in row and c1_vtep in row and 'compute1' in row, row
        assert 'VPC 0x22' in text_of(driver, '#macs h3')
        assert '0x22' in text_of(driver, '#vpcs td.vni')
        # The picture: one tunnel drawn per port, coloured as the legend says for its health.
        link = 'svg.picture g.tunnel[data-port="%s"]' % tunnel
        assert found(driver, link)[0].get_attribute('data-health') == health
        assert style(driver, link + ' path.link', 'stroke') == \
            style(driver, '.legend .swatch.health-' + health, 'background-color')
        assert c1_vtep in text_of(driver, link + ' text')
        # The fleet: both nodes, this one marked; the VPC with both nodes hosting it.
        assert text_of(driver, '#fleet td.this-node') == NODE
        fleet_text = text_of(driver, '#fleet')
        assert 'compute1' in fleet_text and c1_vtep in fleet_text
        # Flow counts as /tables says (table 20 changes only when a MAC comes or goes).
        counts = text_of(driver, '#tables tr')
        assert '20 UCAST_TO_TUN %d' % table20 in counts, counts
        # Values are text, never markup: the name shows as typed, and nothing ran.
        wait_for(lambda: MARKUP in text_of(driver, '#vpcs td'), 10, 'the VPC name on the page')
        assert MARKUP in text_of(driver, '#fleet td')
        assert driver.execute_script('return [window.pwned, document.querySelectorAll('
                                     '"main img, main b").length]') == [None, 0]
        assert 'connected' in text_of(driver, '.switch-line')
        assert 'last sync' in text_of(driver, '#switches')
        assert not found(driver, '#banner:not([hidden])')
        for size, (width, height) in SIZES.items():
            driver.set_window_size(width, height)
            wait_for(lambda: driver.execute_script('return window.innerWidth') <= width, 5,
                     'the %s window' % size)
            wait_for(lambda: learned_row(driver, mac), 10, 'the page at %s size' % size)
            # Readable: nothing wider than the window (tables scroll inside their card).
            assert driver.execute_script(
                'return document.documentElement.scrollWidth <= window.innerWidth'), size
            shots.append(str(tmp_path / ('ui-%s.png' % size)))
            driver.save_screenshot(shots[-1])
            shots.append(full_page_png(driver, str(tmp_path / ('ui-%s-full.png' % size))))
        # No script error and no CSP refusal in the console.
        errors = [e for e in driver.get_log('browser') if e['level'] == 'SEVERE']
        assert errors == [], errors

        # br-tun leaves the controller: shown as disconnected, its flood lists not known.
        ovs = lab.ovs(NODE)
        target = ovs.vsctl('get-controller', 'br-tun').strip()
        ovs.vsctl('del-controller', 'br-tun')
        try:
            gone = wait_for(lambda: text_of(driver, '.switch-line'), 15, 'a switch line')
            wait_for(lambda: 'disconnected' in text_of(driver, '.switch-line .badge.bad'), 15,
                     'br-tun shown as disconnected (last: %s)' % gone)
            assert 'not known: no br-tun connected' in text_of(driver, '#vpcs td')
        finally:
            ovs.vsctl('set-controller', 'br-tun', target)
        wait_for(lambda: text_of(driver, '.switch-line .badge.good') == 'connected', 20,
                 'br-tun connected again')
        wait_for(lambda: learned_row(driver, mac), 10, 'the learned MAC after the reconnect')

        # The controller goes away: a banner, the last data kept.
        ryu = node['ryu']
        assert procs.stop(ryu['pid'], ryu['started'])
        banner = wait_for(lambda: text_of(driver, '#banner:not([hidden])'), 15,
                          'the unreachable banner')
        assert banner.startswith('Controller unreachable since '), banner
        assert learned_row(driver, mac), 'the last data stays on the page'
        assert not found(driver, '.switch-line .badge.good'), 'no "connected" without a look'
        shots.append(str(tmp_path / 'ui-unreachable.png'))
        driver.save_screenshot(shots[-1])
        # And back: the banner goes once the controller answers again.
        lab.lab.restart_ryu(NODE)
        wait_for(lambda: not found(driver, '#banner:not([hidden])'), 30,
                 'the banner to go after the restart')
        assert wait_for(lambda: learned_row(driver, mac), 10, 'the data after the restart')
    for shot in shots:
        with open(shot, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n', shot
    print('screenshots: ' + ' '.join(shots))
