"""The terms of a trace (``--node-port|--tunnel, --vpc, --dst, --src, --arp``), validated,
and the ``ofproto/trace`` flow of br-tun they describe. Pure.

What the terms mean on br-tun, which only ever sees the patch port and the tunnels:

- ``node_port``: a VM port of this node on br-int (``qvoXXX``). Its frame reaches br-tun
  through ``patch_int_port``, tagged with the local VLAN of ``vpc`` on this node; the
  caller checks that the port is on br-int with exactly that tag (so a parked or foreign
  port is refused) and uses its ``attached-mac`` as the source when ``src`` is not given.
- ``tunnel``: a tunnel port of br-tun. Its frame arrives untagged with ``tun_id=vpc``; any
  VNI is accepted, so a VNI this node does not have can be traced (and is dropped).
- ``arp``: the frame is an ARP request (who-has IP, from ``src``); ``dst`` then defaults
  to broadcast, as a real request is. The sender IP is left 0.0.0.0 (an ARP probe): the
  pipeline never looks at it. Without ``arp`` the frame has no payload type (dl_type 0)
  and ``dst`` is required.
- ``src`` not given and not known: OVS takes 00:00:00:00:00:00.
"""
import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

from ..model import MAX_IFNAME, VNI_MAX
from ..rest.params import parse_number

FIELDS = ('node_port', 'tunnel', 'vpc', 'dst', 'src', 'arp')
BROADCAST = 'ff:ff:ff:ff:ff:ff'

_MAC_RE = re.compile(r'[0-9a-f]{2}(:[0-9a-f]{2}){5}')
_NAME_RE = re.compile(r'[A-Za-z0-9_.-]{1,%d}' % MAX_IFNAME)


class TermError(ValueError):
    """A bad term: ``field`` is its name (``node_port``); the CLI shows ``--node-port``."""

    def __init__(self, field, value, why):
        super().__init__('%s: %s' % (field, why) if value is None
                         else '%s=%r: %s' % (field, value, why))
        self.field, self.value, self.why = field, value, why


@dataclass(frozen=True)
class Terms:
    vni: int
    dst: str
    node_port: Optional[str] = None
    tunnel: Optional[str] = None
    src: Optional[str] = None
    arp: Optional[str] = None


def valid_mac(field, value):
    mac = value.lower()
    if not _MAC_RE.fullmatch(mac):
        raise TermError(field, value, 'not a MAC address (six hex pairs joined by ":")')
    return mac


def _name(field, value):
    # A leading '-' could pass for an option of the ovs-vsctl the name is handed to.
    if not _NAME_RE.fullmatch(value) or value in ('.', '..') or value.startswith('-'):
        raise TermError(field, value, 'not a port name (1..%d letters, digits, "_", "-", '
                                      '"."; not starting with "-")' % MAX_IFNAME)
    return value


def parse_terms(raw):
    """``raw``: {field: text or None}. Returns Terms or raises TermError (the first bad
    field, in FIELDS order after the node_port/tunnel choice)."""
    given = {k: v for k, v in raw.items() if k in FIELDS and v is not None}
    if ('node_port' in given) == ('tunnel' in given):
        field = 'tunnel' if 'node_port' in given else 'node_port'
        raise TermError(field, given.get(field),
                        'give exactly one of node_port (a VM port of this node) and tunnel '
                        '(a tunnel port of br-tun)')
    node_port = _name('node_port', given['node_port']) if 'node_port' in given else None
    tunnel = _name('tunnel', given['tunnel']) if 'tunnel' in given else None
    if 'vpc' not in given:
        raise TermError('vpc', None, 'required: the VNI of the VPC (decimal or 0x hex)')
    try:
        vni = parse_number(given['vpc'])
    except ValueError:
        raise TermError('vpc', given['vpc'], 'not a VNI (decimal or 0x hex)') from None
    if not 1 <= vni <= VNI_MAX:
        raise TermError('vpc', given['vpc'], 'VNI outside 1..%d' % VNI_MAX)
    src = valid_mac('src', given['src']) if 'src' in given else None
    if src is not None and int(src[:2], 16) & 1:
        raise TermError('src', given['src'], 'a multicast address cannot be a source')
    arp = None
    if 'arp' in given:
        try:
            arp = str(ipaddress.IPv4Address(given['arp']))
        except ValueError:
            raise TermError('arp', given['arp'], 'not an IPv4 address') from None
    if 'dst' in given:
        dst = valid_mac('dst', given['dst'])
    elif arp is not None:
        dst = BROADCAST
    else:
        raise TermError('dst', None, 'required unless arp is given (an ARP request is '
                                     'broadcast)')
    return Terms(vni=vni, dst=dst, node_port=node_port, tunnel=tunnel, src=src, arp=arp)


def _frame(terms, src):
    """The Ethernet (and ARP) part of the flow."""
    parts = []
    if src:
        parts.append('dl_src=%s' % src)
    parts.append('dl_dst=%s' % terms.dst)
    if terms.arp is not None:
        parts += ['arp_op=1', 'arp_tpa=%s' % terms.arp]
        if src:
            parts.append('arp_sha=%s' % src)
    return parts


def vm_flow(terms, patch_ofport, local_vlan, src=None):
    """A frame from a VM port: into br-tun on the patch port, tagged with the VPC's VLAN."""
    head = ['arp'] if terms.arp is not None else []
    head += ['in_port=%d' % patch_ofport, 'dl_vlan=%d' % local_vlan]
    return ','.join(head + _frame(terms, terms.src or src))


def tunnel_flow(terms, tunnel_ofport, remote_ip=None, local_ip=None):
    """A frame from a tunnel: untagged, with the VNI in tun_id (and the outer addresses
    when known, as the VXLAN port would report them)."""
    head = ['arp'] if terms.arp is not None else []
    head += ['in_port=%d' % tunnel_ofport, 'tun_id=%#x' % terms.vni]
    if remote_ip and local_ip:
        head += ['tun_src=%s' % remote_ip, 'tun_dst=%s' % local_ip]
    return ','.join(head + _frame(terms, terms.src))
