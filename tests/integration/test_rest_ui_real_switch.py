"""The web page's files and its two new endpoints over real HTTP, from a real ryu-manager
driving the article's compute1 br-tun (file mode: no registry).

The page runs in a real browser on a registry lab in tests/e2e/test_lab_ui.py; here: what
the server hands out (allow-listed files only, content types, no-cache, CSP), /tables
against ``ovs-ofctl dump-flows``, /fleet without a registry, and the page in file mode.
"""
import collections
import http.client
import json
import re

import pytest

from browser import browser_in
from realenv import http_get, inside_netns, wait_for
import test_rest_real_switch
from ryu_vxlan_vpc.flows import text

BASE = test_rest_real_switch.BASE
VM_MAC = test_rest_real_switch.VM_MAC
learned = test_rest_real_switch.learned   # the fixture: a real switch that learned a MAC

UI = BASE + '/ui/'


def raw_get(netns, path, method='GET'):
    """(status, headers, body) without following redirects, from inside ``netns``."""
    with inside_netns(netns):
        conn = http.client.HTTPConnection('127.0.0.1', 8080, timeout=10)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


def test_tables_count_what_ovs_ofctl_lists(learned):
    status, ctype, body = http_get(learned.netns, BASE + '/tables')
    assert (status, ctype) == (200, 'application/json'), body
    rows = json.loads(body)['tables']
    listed = text.parse_dump(learned.ofctl('dump-flows', 'br-tun'))
    ofctl = collections.Counter(int(re.search(r'table=(\d+)', f).group(1)) for f in listed)
    assert {r['table']: r['flows'] for r in rows if r['flows']} == dict(ofctl)
    by_table = {r['table']: r for r in rows}
    # The article's 13 flows plus the learned one in table 20.
    assert by_table[20] == {'dpid': rows[0]['dpid'], 'table': 20, 'name': 'UCAST_TO_TUN',
                            'flows': 2}
    assert by_table[3]['name'] == 'GRE_TUN_TO_LV' and sum(ofctl.values()) == 14
    assert http_get(learned.netns, BASE + '/tables?dpid=' + rows[0]['dpid'])[2] == body


@pytest.mark.parametrize('query, status, words', [
    ('?dpid=zz', 400, "dpid='zz' is not a datapath id"),
    ('?dpid=0x1', 404, 'no connected br-tun with dpid 0000000000000001'),
    ('?table=1', 400, "unknown query parameter 'table'"),
])
def test_tables_refuses_bad_queries_naming_the_field(learned, query, status, words):
    got, ctype, body = http_get(learned.netns, BASE + '/tables' + query)
    assert (got, ctype) == (status, 'application/json') and words in json.loads(body)['error']


def test_fleet_without_a_registry_is_empty_and_says_so(learned):
    status, ctype, body = http_get(learned.netns, BASE + '/fleet')
    assert (status, ctype) == (200, 'application/json')
    assert json.loads(body) == {'registry': False, 'revision': None, 'node': None,
                                'nodes': [], 'vpcs': []}
    status, _, body = http_get(learned.netns, BASE + '/fleet?x=1')
    assert status == 400 and "unknown query parameter 'x'" in json.loads(body)['error']


@pytest.mark.parametrize('name, ctype', [('', 'text/html'), ('app.js', 'text/javascript'),
                                         ('style.css', 'text/css'),
                                         ('icon.svg', 'image/svg+xml')])
def test_page_files_come_with_type_no_cache_and_a_self_only_csp(learned, name, ctype):
    status, headers, body = raw_get(learned.netns, '/vxlan-vpc/ui/' + name)
    assert status == 200 and headers['content-type'].lower() == ctype + '; charset=utf-8'
    assert headers['cache-control'] == 'no-cache'
    assert headers['x-content-type-options'] == 'nosniff'
    csp = dict(d.strip().split(' ', 1) for d in headers['content-security-policy'].split(';'))
    assert csp['default-src'] == "'self'" and csp['script-src'] == "'self'"
    assert all(v in ("'self'", "'none'") for v in csp.values()), csp
    assert len(body) > 200


def test_the_page_references_only_files_the_server_has(learned):
    page = raw_get(learned.netns, '/vxlan-vpc/ui/')[2].decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {'app.js', 'style.css', 'icon.svg'} <= set(refs)
    for ref in refs:
        assert '//' not in ref, 'nothing from outside: %s' % ref
        path = '/vxlan-vpc/ui/' + ref if not ref.startswith('../') else '/vxlan-vpc/' + ref[3:]
        assert raw_get(learned.netns, path)[0] == 200, ref


def test_the_bare_path_redirects_to_the_page(learned):
    status, headers, _ = raw_get(learned.netns, '/vxlan-vpc/ui')
    assert status == 301 and headers['location'].endswith('/vxlan-vpc/ui/')


@pytest.mark.parametrize('path', [
    '/vxlan-vpc/ui/index.html', '/vxlan-vpc/ui/api.py', '/vxlan-vpc/ui/..%2fapi.py',
    '/vxlan-vpc/ui/..%2f..%2frest%2fapi.py', '/vxlan-vpc/ui/%2e%2e', '/vxlan-vpc/ui/app.js/x',
    '/vxlan-vpc/ui/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', '/vxlan-vpc/ui/APP.JS'])
def test_anything_outside_the_allow_list_is_a_json_404(learned, path):
    status, headers, body = raw_get(learned.netns, path)
    assert status == 404 and headers['content-type'] == 'application/json', body
    assert b'root:' not in body and b'import' not in body


def test_the_page_is_get_only(learned):
    status, headers, body = raw_get(learned.netns, '/vxlan-vpc/ui/', method='POST')
    assert status == 405 and 'only GET' in json.loads(body)['error']


def test_the_page_in_file_mode_shows_the_switch_and_says_there_is_no_registry(learned):
    with browser_in(learned.netns) as driver:
        driver.get('http://127.0.0.1:8080/vxlan-vpc/ui/')

        def learned_row():
            rows = [r.text for r in driver.find_elements('css selector', 'tr.mac-row')]
            return next((r for r in rows if VM_MAC in r and 'learned' in r), None)
        row = wait_for(learned_row, 20, 'the learned MAC on the page')
        assert 'vxlan-01' in row
        fleet = driver.find_element('css selector', '#fleet').text
        assert fleet.startswith('No registry: '), fleet
        assert driver.find_element('css selector', 'svg.picture g.tunnel').get_attribute(
            'data-port') == 'vxlan-01'
        assert '0x22' in driver.find_element('css selector', '#vpcs').text
        assert [e for e in driver.get_log('browser') if e['level'] == 'SEVERE'] == []
