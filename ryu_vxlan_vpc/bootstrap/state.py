"""What a node looks like now, as far as bootstrap cares, and the pure parsers that build it.

The checks of a plan are pure functions of an ``Observed``; ``execute.observe`` fills one
from ``ovs-vsctl --format=json list ...``, ``ip -j -d addr show`` and ``ip -j netns list``.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Optional, Tuple


@dataclass(frozen=True)
class OvsBridge:
    name: str
    fail_mode: Optional[str] = None
    protocols: Tuple[str, ...] = ()
    datapath_type: str = ''
    controllers: Tuple[Tuple[str, Optional[str]], ...] = ()  # (target, connection_mode)
    ports: FrozenSet[str] = frozenset()                      # includes the bridge's own port
    datapath_id: Optional[str] = None     # set by ovs-vswitchd once it made the bridge;
                                          # stays empty when its datapath cannot be opened


@dataclass(frozen=True)
class OvsPort:
    name: str
    bridge: Optional[str]
    tag: Optional[int] = None
    type: str = ''                        # of its (single) interface; '' means system
    options: Tuple[Tuple[str, str], ...] = ()  # sorted (key, value) of the interface
    external_ids: Tuple[Tuple[str, str], ...] = ()        # of the port (our marks)
    other_config: Tuple[Tuple[str, str], ...] = ()        # of the port (a VM port's VNI)
    iface_external_ids: Tuple[Tuple[str, str], ...] = ()  # of the interface (iface-id)
    ofport: Optional[int] = None          # of the interface: None until OVS assigns one,
                                          # -1 when it failed to make the port
    error: Optional[str] = None           # of the interface: OVS's own words when it failed
    bfd: Tuple[Tuple[str, str], ...] = ()  # of the interface: its BFD configuration

    def external_id(self, key):
        return dict(self.external_ids).get(key)

    def iface_id(self):
        return dict(self.iface_external_ids).get('iface-id')


@dataclass(frozen=True)
class Link:
    name: str
    kind: str = ''                 # 'bridge', 'veth', ... ('' for plain devices)
    up: bool = False               # administratively up (IFF_UP)
    master: Optional[str] = None
    addresses: FrozenSet[str] = frozenset()  # 'a.b.c.d/len'


@dataclass
class Observed:
    bridges: Dict[str, OvsBridge] = field(default_factory=dict)
    ports: Dict[str, OvsPort] = field(default_factory=dict)
    links: Dict[Optional[str], Dict[str, Link]] = field(default_factory=dict)  # netns -> name
    namespaces: FrozenSet[str] = frozenset()

    def link(self, netns, name):
        return self.links.get(netns, {}).get(name)


# --- parsers (pure) ------------------------------------------------------------------

def _atom(value):
    """OVSDB JSON -> Python: sets become lists, maps dicts, uuids their string."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, data = value
        if kind == 'set':
            return [_atom(v) for v in data]
        if kind == 'map':
            return {_atom(k): _atom(v) for k, v in data}
        if kind in ('uuid', 'named-uuid'):
            return data
    return value


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _items(value):
    """An OVSDB map column as sorted (key, value) pairs; absent or empty -> ()."""
    return tuple(sorted(value.items())) if isinstance(value, dict) else ()


def _optional(value):
    """An optional OVSDB column (an empty set when unset) -> its value or None."""
    value = _as_list(value)
    return value[0] if value else None


def _rows(table_json):
    doc = json.loads(table_json)
    heads = doc['headings']
    return [{h: _atom(v) for h, v in zip(heads, row)} for row in doc['data']]


OVS_TABLES = (
    ('Bridge', '_uuid,name,fail_mode,protocols,datapath_type,controller,ports,datapath_id'),
    ('Port', '_uuid,name,tag,interfaces,external_ids,other_config'),
    ('Interface', '_uuid,name,type,options,external_ids,ofport,error,bfd'),
    ('Controller', '_uuid,target,connection_mode'),
)


def parse_ovs(text):
    """Output of ``ovs-vsctl --format=json`` listing OVS_TABLES, one JSON document per line."""
    docs = [line for line in text.splitlines() if line.strip()]
    if len(docs) != len(OVS_TABLES):
        raise ValueError('expected %d JSON tables from ovs-vsctl, got %d'
                         % (len(OVS_TABLES), len(docs)))
    bridges, ports, ifaces, ctls = (_rows(d) for d in docs)
    iface_by_uuid = {i['_uuid']: i for i in ifaces}
    ctl_by_uuid = {c['_uuid']: c for c in ctls}
    port_by_uuid = {p['_uuid']: p for p in ports}
    bridge_of = {}
    out_bridges = {}
    for b in bridges:
        port_names = frozenset(port_by_uuid[u]['name'] for u in _as_list(b['ports'])
                               if u in port_by_uuid)
        for name in port_names:
            bridge_of[name] = b['name']
        controllers = []
        for u in _as_list(b['controller']):
            c = ctl_by_uuid.get(u)
            if c is not None:
                controllers.append((c['target'], _optional(c['connection_mode'])))
        out_bridges[b['name']] = OvsBridge(
            name=b['name'], fail_mode=_optional(b['fail_mode']),
            protocols=tuple(sorted(_as_list(b['protocols']))),
            datapath_type=b['datapath_type'], controllers=tuple(sorted(controllers)),
            ports=port_names, datapath_id=_optional(b.get('datapath_id', [])))
    out_ports = {}
    for p in ports:
        iface = next((iface_by_uuid[u] for u in _as_list(p['interfaces'])
                      if u in iface_by_uuid), None)
        iface = iface or {}
        out_ports[p['name']] = OvsPort(
            name=p['name'], bridge=bridge_of.get(p['name']), tag=_optional(p['tag']),
            type=iface.get('type', ''), options=_items(iface.get('options')),
            external_ids=_items(p.get('external_ids')),
            other_config=_items(p.get('other_config')),
            iface_external_ids=_items(iface.get('external_ids')),
            ofport=_optional(iface.get('ofport', [])), error=_optional(iface.get('error', [])),
            bfd=_items(iface.get('bfd')))
    return out_bridges, out_ports


def parse_links(text):
    """Output of ``ip -j -d addr show`` -> {name: Link}."""
    links = {}
    for item in json.loads(text or '[]'):
        addresses = frozenset('%s/%s' % (a['local'], a['prefixlen'])
                              for a in item.get('addr_info', []) if a.get('family') == 'inet')
        links[item['ifname']] = Link(
            name=item['ifname'], kind=item.get('linkinfo', {}).get('info_kind', ''),
            up='UP' in item.get('flags', []), master=item.get('master'),
            addresses=addresses)
    return links


def parse_netns(text):
    """Output of ``ip -j netns list`` (empty when there is none)."""
    return frozenset(item['name'] for item in json.loads(text.strip() or '[]'))
