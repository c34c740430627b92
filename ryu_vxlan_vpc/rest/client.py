"""``ryu-vxlan-vpc flows|macs|vpcs|switches|tunnels|trace``: the REST API from a shell.

``flows`` prints exactly what ``GET /vxlan-vpc/flows?format=text`` returns, i.e. lines in
``ovs-ofctl dump-flows`` syntax. The others print small tables. Exit status: 0 on
success, 1 when the controller cannot be reached, 2 when it rejects the request.
"""
import argparse
import http.client
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from ..trace import request as trace_request
from . import params as numbers

DEFAULT_URL = 'http://127.0.0.1:8080'
URL_ENV = 'RYU_VXLAN_VPC_URL'


class ClientError(Exception):
    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def get(url, path, params=None, timeout=60):
    """GET base ``url`` + ``path``; returns (content type, body text)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ('http', 'https') or not parsed.netloc:
        raise ClientError('--url %r: not an http:// or https:// URL with a host (e.g. %s)'
                          % (url, DEFAULT_URL), 2)
    query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
    full = url.rstrip('/') + path + ('?' + query if query else '')
    try:
        with urllib.request.urlopen(full, timeout=timeout) as resp:
            return resp.headers.get_content_type(), resp.read().decode('utf-8')
    except urllib.error.HTTPError as exc:
        body = exc.read().decode('utf-8', 'replace')
        try:
            message = json.loads(body)['error']
        except (ValueError, KeyError, TypeError):
            message = body.strip() or exc.reason
        raise ClientError('%s: HTTP %d: %s' % (full, exc.code, message), 2) from None
    except http.client.IncompleteRead as exc:  # a streamed answer cut short by the server
        raise ClientError('%s: the answer broke off after %d bytes (the switch may have '
                          'disconnected while it was read; the controller log says why)'
                          % (full, len(exc.partial)), 1) from None
    except http.client.HTTPException as exc:
        raise ClientError('%s: not a valid HTTP answer: %r' % (full, exc), 1) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, 'reason', exc)
        raise ClientError('cannot reach the controller REST API at %s: %s\n'
                          '(is ryu-manager running ryu_vxlan_vpc.app there? In the lab, run '
                          'this inside the node: ryu-vxlan-vpc lab exec NODE ryu-vxlan-vpc ...; '
                          'or pass --url / set %s)' % (url, reason, URL_ENV), 1) from None


def get_json(url, path, params, key):
    """``body[key]`` of a JSON answer; a non-JSON answer means --url is not our API."""
    ctype, body = get(url, path, params)
    try:
        return json.loads(body)[key]
    except (ValueError, KeyError, TypeError):
        raise ClientError('%s%s answered %s that is not this API\'s JSON; is --url the '
                          'controller\'s REST API?' % (url.rstrip('/'), path, ctype), 2) from None


def _table(rows, columns):
    widths = [max(len(title), *(len(str(r.get(key, ''))) for r in rows)) if rows else len(title)
              for title, key in columns]
    lines = ['  '.join(title.ljust(w) for (title, _), w in zip(columns, widths)).rstrip()]
    for row in rows:
        lines.append('  '.join(str(row.get(key, '')).ljust(w)
                               for (_, key), w in zip(columns, widths)).rstrip())
    return '\n'.join(lines)


def cmd_flows(args):
    _, body = get(args.url, '/vxlan-vpc/flows', {'table': args.table, 'cookie': args.cookie,
                                                  'dpid': args.dpid, 'format': 'text'})
    sys.stdout.write(body)
    return 0


def cmd_macs(args):
    rows = []
    for mac in get_json(args.url, '/vxlan-vpc/macs', {'dpid': args.dpid}, 'macs'):
        port = mac['tunnel_port']
        left = mac['seconds_left_min']
        rows.append(dict(mac, port='%s(%s)' % (port['name'] or '?', port['ofport']),
                         remote=mac['remote_ip'] or '-', source=mac.get('source', 'learned'),
                         left='-' if left is None else '>=%ss' % left))
    print(_table(rows, [('MAC', 'mac'), ('SOURCE', 'source'), ('VNI', 'vni_hex'),
                        ('LOCAL_VLAN', 'local_vlan'), ('TUNNEL_PORT', 'port'),
                        ('REMOTE_VTEP', 'remote'), ('EXPIRES_IN', 'left'), ('DPID', 'dpid')]))
    return 0


def cmd_vpcs(args):
    rows = []
    for vpc in get_json(args.url, '/vxlan-vpc/vpcs', {'dpid': args.dpid}, 'vpcs'):
        ports = sorted({p['name'] for sw in vpc['switches'] for p in sw['flood_ports']})
        rows.append(dict(vpc, flood=','.join(ports) or '-'))
    print(_table(rows, [('VNI', 'vni_hex'), ('LOCAL_VLAN', 'local_vlan'),
                        ('FLOODS_TO', 'flood')]))
    return 0


def cmd_switches(args):
    rows = []
    for sw in get_json(args.url, '/vxlan-vpc/switches', {'dpid': args.dpid}, 'switches'):
        tunnels = ','.join('%s=%d' % (p['name'], p['ofport']) for p in sw['tunnel_ports'])
        rows.append(dict(sw, patch='%s=%s' % (sw['patch_port']['name'],
                                              sw['patch_port']['ofport']),
                         tunnels=tunnels or '-', flows=sw['flows_installed']))
    print(_table(rows, [('DPID', 'dpid'), ('BRIDGE', 'bridge'), ('PATCH', 'patch'),
                        ('TUNNELS', 'tunnels'), ('FLOWS', 'flows')]))
    return 0


def cmd_trace(args):
    raw = {name: getattr(args, name) for name in trace_request.FIELDS}
    try:  # the server's own checks, so a typo fails here in one line, before any request
        trace_request.parse_terms(raw)
    except trace_request.TermError as exc:
        given = 'missing' if exc.value is None else repr(exc.value)
        raise ClientError('trace: --%s %s: %s' % (exc.field.replace('_', '-'), given,
                                                  exc.why), 2) from None
    _, body = get(args.url, '/vxlan-vpc/trace', dict(raw, dpid=args.dpid))
    try:
        answer = json.loads(body)
        answer['verdict']['text']
    except (ValueError, KeyError, TypeError):
        raise ClientError('%s/vxlan-vpc/trace did not answer this API\'s JSON; is --url the '
                          'controller\'s REST API?' % args.url.rstrip('/'), 2) from None
    if args.json:
        print(json.dumps(answer, indent=1, sort_keys=True))
        return 0
    terms, port = answer['terms'], answer['in_port']
    origin = ('VM port %s via %s, local VLAN %s' % (terms['node_port'], port['name'],
                                                    terms['local_vlan'])
              if terms['node_port'] else 'tunnel %s' % terms['tunnel'])
    print('%s %s: from %s; VNI %s; %s -> %s%s' % (
        answer['bridge'], answer['dpid'], origin, terms['vni_hex'], terms['src'] or '-',
        terms['dst'], ', ARP who-has %s' % terms['arp'] if terms['arp'] else ''))
    print('  $ %s' % ' '.join(answer['command']))
    for hop in answer['hops']:
        print(hop['text'])
        for note in hop['ovs_notes']:   # e.g. a trace does not apply learn()
            print('  %s' % note)
    for hop in answer['beyond']:
        print('  then %s' % hop['text'])
    print('verdict: %s' % answer['verdict']['text'])


def cmd_tunnels(args):
    rows = [dict(t, remote=t['remote_ip'] or '-')
            for t in get_json(args.url, '/vxlan-vpc/tunnels', {'dpid': args.dpid}, 'tunnels')]
    print(_table(rows, [('NAME', 'name'), ('OFPORT', 'ofport'), ('REMOTE_IP', 'remote'),
                        ('HEALTH', 'health')]))
    return 0


def _run(func):
    def wrapped(args):
        try:
            return func(args)
        except ClientError as exc:
            print('ryu-vxlan-vpc: %s' % exc, file=sys.stderr)
            return exc.status
    return wrapped


def _cookie(value):
    """Validated here so a typo fails before any request is sent."""
    try:
        int(value, 0)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a cookie (decimal or 0x hex)' % value)
    return value


def _dpid(value):
    """Checked with the server's own parser, so the CLI takes exactly what REST takes."""
    try:
        numbers.parse_dpid(value)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a datapath id (%s)'
                                         % (value, numbers.DPID_FORMATS))
    return value


def _table_id(value):
    if not value.isdigit() or not 0 <= int(value) <= 254:
        raise argparse.ArgumentTypeError('%r is not a table number (0..254)' % value)
    return int(value)


def register(subparsers):
    common = {'url': dict(default=os.environ.get(URL_ENV, DEFAULT_URL),
                          help='controller REST base URL (default: $%s or %s)'
                               % (URL_ENV, DEFAULT_URL)),
              'dpid': dict(type=_dpid, metavar='DPID',
                           help='only this br-tun: 16 hex digits (as `switches` prints), '
                                '0x-hex or decimal')}
    specs = [
        ('flows', cmd_flows, 'flows installed on br-tun, learned ones included, printed '
                             'like ovs-ofctl dump-flows (read from the switch)'),
        ('macs', cmd_macs, 'MACs learned into table 20, per VPC'),
        ('vpcs', cmd_vpcs, 'VPCs: VNI, local VLAN, tunnel ports flooded to'),
        ('switches', cmd_switches, 'connected br-tun switches'),
        ('tunnels', cmd_tunnels, 'tunnel ports and their health from BFD: up, down, '
                                 'no-bfd, or unknown while not read yet'),
    ]
    for name, func, help_text in specs:
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        parser.add_argument('--url', **common['url'])
        parser.add_argument('--dpid', **common['dpid'])
        if name == 'flows':
            parser.add_argument('--table', type=_table_id, metavar='N',
                                help='only table N (0..254)')
            parser.add_argument('--cookie', type=_cookie, metavar='COOKIE',
                                help='only flows with this cookie (decimal or 0x hex)')
        parser.set_defaults(func=_run(func))
    _register_trace(subparsers, common)


def _register_trace(subparsers, common):
    help_text = ('trace a packet through br-tun (ovs-vswitchd\'s ofproto/trace): each table '
                 'with the flow it matched, then where the packet ends')
    parser = subparsers.add_parser('trace', help=help_text, description=help_text)
    parser.add_argument('--node-port', metavar='VM_PORT',
                        help='from this VM port of the node (qvoXXX on br-int, tagged with '
                             'the VPC\'s local VLAN): enters br-tun on the patch port')
    parser.add_argument('--tunnel', metavar='PORT',
                        help='from this tunnel port of br-tun (vxlan-XXXXXXXX), any VNI')
    parser.add_argument('--vpc', metavar='VNI', help='the VPC\'s VNI (decimal or 0x hex)')
    parser.add_argument('--dst', metavar='MAC',
                        help='destination MAC (default with --arp: ff:ff:ff:ff:ff:ff)')
    parser.add_argument('--src', metavar='MAC',
                        help='source MAC (default: the VM port\'s attached-mac; from a '
                             'tunnel 00:00:00:00:00:00)')
    parser.add_argument('--arp', metavar='IP', help='an ARP request: who has IP')
    parser.add_argument('--json', action='store_true', help='print the API\'s JSON answer')
    parser.add_argument('--url', **common['url'])
    parser.add_argument('--dpid', **common['dpid'])
    parser.set_defaults(func=_run(cmd_trace))
