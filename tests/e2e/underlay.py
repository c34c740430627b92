"""A raw capture of the VXLAN packets on one interface of a lab namespace.

No tcpdump on these machines: an AF_PACKET socket, opened inside the namespace, sees every
frame the interface sends or receives (ovs-vswitchd's userspace datapath sends through
one too). Each VXLAN packet is kept as a ``Vxlan`` with what the tests ask about.
"""
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Optional

from ryu_vxlan_vpc.netns import inside_netns

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
VXLAN_PORT = 4789


@dataclass(frozen=True)
class Vxlan:
    outgoing: bool
    src: str              # outer IPv4 addresses: the VTEPs
    dst: str
    vni: int
    inner_dst: str        # inner Ethernet destination MAC
    inner_type: int       # inner EtherType (0x0806 ARP, 0x0800 IPv4, ...)
    arp_tpa: Optional[str] = None


def _mac(raw):
    return ':'.join('%02x' % b for b in raw)


def parse(frame, outgoing):
    """The Vxlan in an Ethernet frame, or None."""
    eth_type, off = struct.unpack_from('!H', frame, 12)[0], 14
    if eth_type == 0x8100:
        eth_type, off = struct.unpack_from('!H', frame, 16)[0], 18
    if eth_type != 0x0800 or len(frame) < off + 20:
        return None
    ihl = (frame[off] & 0x0f) * 4
    if frame[off + 9] != 17:
        return None
    src, dst = socket.inet_ntoa(frame[off + 12:off + 16]), socket.inet_ntoa(frame[off + 16:off + 20])
    udp = off + ihl
    if struct.unpack_from('!H', frame, udp + 2)[0] != VXLAN_PORT:
        return None
    vxlan = udp + 8
    vni = int.from_bytes(frame[vxlan + 4:vxlan + 7], 'big')
    inner = vxlan + 8
    inner_type = struct.unpack_from('!H', frame, inner + 12)[0]
    tpa = None
    if inner_type == 0x0806 and len(frame) >= inner + 14 + 28:
        tpa = socket.inet_ntoa(frame[inner + 14 + 24:inner + 14 + 28])
    return Vxlan(outgoing, src, dst, vni, _mac(frame[inner:inner + 6]), inner_type, tpa)


class Capture:
    """Start at construction, ``stop()`` returns the VXLAN packets seen meanwhile."""

    def __init__(self, netns, ifname):
        with inside_netns(netns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                      socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((ifname, 0))
        self.sock.settimeout(0.1)
        self.packets = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._done.is_set():
            try:
                frame, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            packet = parse(frame, addr[2] == PACKET_OUTGOING)
            if packet is not None:
                self.packets.append(packet)

    def stop(self):
        self._done.set()
        self._thread.join(5)
        self.sock.close()
        return self.packets
