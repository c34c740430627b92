// The live page: reads the controller's REST API every few seconds and draws it.
// Every value from the API goes into the DOM as text (textContent, createElement,
// setAttribute of fixed attribute names), never as markup: a MAC, a VPC name or an error
// message can hold anything. The CSP the server sends allows no inline script or style.
'use strict';

const REFRESH_MS = 3000;
const TIMEOUT_MS = 30000; // a 200k-flow node dumps in seconds; refreshes never overlap
const API = '../';   // relative: works behind a proxy that adds a path prefix
const ENDPOINTS = ['switches', 'vpcs', 'macs', 'tables', 'fleet'];
const HEALTHS = ['up', 'down', 'no-bfd', 'unknown'];
const SVG_NS = 'http://www.w3.org/2000/svg';

const state = {
  data: null,             // {endpoint: {status, body}} of the last complete answer
  updated: null,          // Date of that answer
  unreachableSince: null, // Date of the first failed refresh in a row, or null
  seen: new Map(),        // dpid -> Date last listed by /switches (to show a disconnect)
};

// --- DOM helpers: text only ---------------------------------------------------------
function el(tag, cls, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  for (const child of children) append(node, child);
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children) append(node, child);
  return node;
}

function append(node, child) {
  if (child === null || child === undefined || child === false) return;
  node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

function replace(id, ...children) {
  const target = document.getElementById(id);
  target.replaceChildren();
  for (const child of children) append(target, child);
}

function table(headers, rows, cls) {
  const head = el('tr', null, ...headers.map((h) => el('th', null, h)));
  const body = rows.map((cells) => el('tr', cells.cls || null,
    ...cells.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : el('td', null, c)))));
  return el('div', 'scroll', el('table', cls || null, el('thead', null, head),
                                el('tbody', null, ...body)));
}

function badge(text, cls) { return el('span', 'badge ' + cls, text); }

function clock(date) { return date.toLocaleTimeString([], { hour12: false }); }

function ago(seconds) {
  if (seconds < 1) return 'just now';
  if (seconds < 120) return Math.round(seconds) + ' s ago';
  if (seconds < 7200) return Math.round(seconds / 60) + ' min ago';
  return Math.round(seconds / 3600) + ' h ago';
}

function failure(answer, what) {
  // An HTTP error of one endpoint: its own message, in its own section.
  const message = answer.body && answer.body.error ? answer.body.error : 'HTTP ' + answer.status;
  return el('p', 'error', what + ': ' + message);
}

// --- reading the API ------------------------------------------------------------------
async function get(endpoint) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const resp = await fetch(API + endpoint, { cache: 'no-store', signal: abort.signal });
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (resp.ok && body === null) {
      // A 200 whose body broke off (the switch left mid-dump): an error of this endpoint.
      return { status: resp.status, ok: false, body: { error: 'the answer was cut short' } };
    }
    return { status: resp.status, ok: resp.ok, body };
  } finally {
    clearTimeout(timer);
  }
}

async function refresh() {
  let answers;
  try {
    answers = await Promise.all(ENDPOINTS.map(get));
  } catch (e) {
    // No answer at all (connection refused, timeout): keep the last data on the page.
    if (!state.unreachableSince) state.unreachableSince = new Date();
    if (state.data) render(state.data);   // the same data, marked as of unknown state now
    showStatus(String(e && e.message ? e.message : e));
    return;
  }
  state.unreachableSince = null;
  state.data = Object.fromEntries(ENDPOINTS.map((name, i) => [name, answers[i]]));
  state.updated = new Date();
  render(state.data);
  showStatus(null);
}

async function loop() {
  try {
    await refresh();
  } catch (e) {
    // A bug in drawing must not stop the refreshes; it is shown, not hidden.
    replace('status', 'page error: ' + e);
  }
  setTimeout(loop, REFRESH_MS);
}

function showStatus(problem) {
  const banner = document.getElementById('banner');
  if (state.unreachableSince) {
    banner.hidden = false;
    banner.replaceChildren();
    append(banner, el('strong', null, 'Controller unreachable since ' +
                      clock(state.unreachableSince)));
    append(banner, ' (' + problem + '). ' + (state.updated
      ? 'Showing the last data, from ' + clock(state.updated) + '.'
      : 'No data yet.') + ' Retrying every ' + REFRESH_MS / 1000 + ' s.');
  } else {
    banner.hidden = true;
  }
  replace('status', state.updated
    ? 'updated ' + clock(state.updated) + ', every ' + REFRESH_MS / 1000 + ' s'
    : 'waiting for the controller');
}

// --- drawing --------------------------------------------------------------------------
function render(data) {
  const fleet = data.fleet.ok && data.fleet.body && data.fleet.body.registry
    ? data.fleet.body : null;
  const names = new Map();  // VTEP address -> node name, from the registry
  if (fleet) for (const n of fleet.nodes) names.set(n.local_ip, n.name);
  replace('node-name', fleet && fleet.node ? fleet.node : '');
  document.title = (fleet && fleet.node ? fleet.node + ': ' : '') + 'VXLAN VPC overlay';
  renderSwitches(data.switches, fleet, names);
  renderVpcs(data.vpcs, fleet, names);
  const connected = data.switches.ok && data.switches.body.switches.length > 0;
  renderMacs(data.macs, names, connected);
  renderTables(data.tables);
  renderFleet(data.fleet, data.switches);
}

function healthOf(port) {
  return HEALTHS.includes(port.health) ? port.health : 'unknown';
}

function remoteLabel(ip, names) {
  if (!ip) return '';
  return names.has(ip) ? names.get(ip) + ' ' + ip : ip;
}

function renderSwitches(answer, fleet, names) {
  if (!answer.ok) return replace('switches', failure(answer, 'switches'));
  const now = new Date();
  const listed = new Set();
  const parts = [];
  for (const sw of answer.body.switches) {
    listed.add(sw.dpid);
    // Old data drawn again while the controller is away says nothing about now.
    if (!state.unreachableSince) state.seen.set(sw.dpid, now);
    parts.push(switchBlock(sw, fleet, names));
  }
  for (const [dpid, when] of state.seen) {
    if (!listed.has(dpid)) {
      parts.push(el('p', 'switch-line', 'br-tun ', el('code', null, dpid), ' ',
                    badge('disconnected', 'bad'), ' last seen ' + clock(when)));
    }
  }
  if (!parts.length) parts.push(el('p', 'error', 'no br-tun connected to the controller yet'));
  replace('switches', ...parts);
}

function switchBlock(sw, fleet, names) {
  const sync = sw.last_sync;
  let syncText = 'no sync yet';
  if (sync) {
    syncText = 'last sync ' + clock(new Date(sync.finished * 1000)) + ' (' +
      ago(Date.now() / 1000 - sync.finished) + '): ' + sync.flows + ' flows, +' + sync.added +
      ' \u2212' + sync.removed + ', ' + sync.how + ', ' + (sync.seconds * 1000).toFixed(1) + ' ms';
    if (sync.repaired) syncText += ', ' + sync.repaired + ' repaired';
  }
  return el('div', 'switch',
    el('p', 'switch-line', sw.bridge + ' ', el('code', null, sw.dpid), ' ',
       state.unreachableSince ? badge('state unknown: controller unreachable', 'stale')
                              : badge('connected', 'good'),
       ' ' + sw.flows_installed + ' flows installed'),
    el('p', 'muted', syncText),
    picture(sw, fleet, names));
}

// The node on the left, one row per tunnel on the right, each line coloured by health
// (and dashed unless up, so the state does not rest on colour alone).
function picture(sw, fleet, names) {
  // Sized so that at a phone's width (about 350 px for 440 units) the text stays readable.
  const tunnels = sw.tunnel_ports;
  const rowH = 48;
  const height = Math.max(110, 16 + rowH * tunnels.length);
  const cy = height / 2;
  const pic = svg('svg', { viewBox: '0 0 440 ' + height, class: 'picture', role: 'img',
                           'aria-label': 'this node and its ' + tunnels.length + ' tunnels' });
  const me = fleet ? fleet.nodes.find((n) => n.this_node) : null;
  tunnels.forEach((port, i) => {
    const y = 8 + rowH * i + rowH / 2 - 6;
    const health = healthOf(port);
    pic.appendChild(svg('g', { class: 'tunnel health-' + health, 'data-port': port.name,
                               'data-health': health },
      svg('title', {}, port.name + ' to ' + (port.remote_ip || '?') + ': ' + health),
      svg('path', { d: 'M126 ' + cy + ' C 160 ' + cy + ', 166 ' + y + ', 196 ' + y,
                    class: 'link' }),
      svg('circle', { cx: 202, cy: y, r: 7, class: 'end' }),
      svg('text', { x: 214, y: y - 2, class: 'remote' },
          remoteLabel(port.remote_ip, names) || port.name),
      svg('text', { x: 214, y: y + 15, class: 'port' },
          port.name + ' \u00b7 port ' + port.ofport + ' \u00b7 ' + health)));
  });
  pic.appendChild(svg('g', { class: 'node' },
    svg('rect', { x: 4, y: cy - 36, width: 122, height: 72, rx: 8 }),
    svg('text', { x: 65, y: cy - 12, class: 'node-name' }, me ? me.name : 'this node'),
    svg('text', { x: 65, y: cy + 7, class: 'node-detail' }, me ? me.local_ip : sw.bridge),
    svg('text', { x: 65, y: cy + 24, class: 'node-detail' }, sw.dpid)));
  if (!tunnels.length) {
    pic.appendChild(svg('text', { x: 150, y: cy + 4, class: 'port' }, 'no tunnels'));
  }
  return el('div', 'picture-box', pic);
}

// A tunnel as its port name, then the node and VTEP behind it on a line of their own.
function tunnelParts(port, names) {
  return [el('span', 'port-name', port.name || 'ofport ' + port.ofport),
          port.remote_ip ? el('span', 'remote', remoteLabel(port.remote_ip, names)) : null];
}

function tunnelCell(port, names) { return el('td', 'tunnel', ...tunnelParts(port, names)); }

function tunnelList(ports, names) {
  return el('td', 'tunnel', ...ports.map((p) => el('div', 'flood', ...tunnelParts(p, names))));
}

function renderVpcs(answer, fleet, names) {
  if (!answer.ok) return replace('vpcs', failure(answer, 'vpcs'));
  const vpcs = answer.body.vpcs;
  if (!vpcs.length) return replace('vpcs', el('p', 'muted', 'no VPC on this node'));
  const named = new Map();
  if (fleet) for (const v of fleet.vpcs) named.set(v.vni, v.name);
  const rows = vpcs.map((vpc) => {
    const floods = vpc.switches.flatMap((s) => s.flood_ports);
    // Flood lists are read from br-tun's table 22: without a switch they are not known.
    const none = vpc.switches.length ? 'none: no other node hosts it'
                                     : 'not known: no br-tun connected';
    return [el('td', 'vni', vpc.vni_hex), named.get(vpc.vni) || '', String(vpc.local_vlan),
            floods.length ? tunnelList(floods, names) : el('td', 'muted', none)];
  });
  replace('vpcs', table(['VNI', 'name', 'local VLAN', 'floods to'], rows));
}

function renderMacs(answer, names, connected) {
  if (!answer.ok) return replace('macs', failure(answer, 'macs'));
  const macs = answer.body.macs;
  if (!macs.length) {
    return replace('macs', el('p', 'muted', connected ? 'no MAC in table 20 yet'
                                                      : 'not known: no br-tun connected'));
  }
  const byVpc = new Map();
  for (const mac of macs) {
    const key = mac.vni_hex || 'unknown VNI';
    if (!byVpc.has(key)) byVpc.set(key, []);
    byVpc.get(key).push(mac);
  }
  const parts = [];
  for (const key of [...byVpc.keys()].sort()) {
    const entries = byVpc.get(key).sort((a, b) => (a.mac + a.source).localeCompare(b.mac + b.source));
    parts.push(el('h3', null, 'VPC ' + key + ', local VLAN ' + entries[0].local_vlan));
    parts.push(table(['MAC', 'source', 'tunnel', 'time left', 'packets'], entries.map((m) => {
      const row = [el('td', 'mac', m.mac),
        el('td', null, badge(m.source, m.source === 'learned' ? 'learned' : 'registry')),
        tunnelCell({ name: m.tunnel_port.name, ofport: m.tunnel_port.ofport,
                     remote_ip: m.remote_ip }, names),
        m.seconds_left_min === null ? 'while registered' : '\u2265 ' + m.seconds_left_min + ' s',
        String(m.n_packets)];
      row.cls = 'mac-row source-' + (m.source === 'learned' ? 'learned' : 'registry');
      return row;
    }), 'macs'));
  }
  replace('macs', ...parts);
}

function renderTables(answer) {
  if (!answer.ok) return replace('tables', failure(answer, 'tables'));
  const rows = answer.body.tables;
  if (!rows.length) return replace('tables', el('p', 'muted', 'not known: no br-tun connected'));
  const most = Math.max(1, ...rows.map((t) => t.flows));
  const multi = new Set(rows.map((t) => t.dpid)).size > 1;
  replace('tables', table((multi ? ['dpid'] : []).concat(['table', 'name', 'flows', '']),
    rows.map((t) => {
      const bar = el('span', 'bar');
      bar.style.width = Math.round(100 * t.flows / most) + '%';  // CSSOM: allowed by the CSP
      const cells = [String(t.table), t.name || '', el('td', 'count', String(t.flows)),
                     el('td', 'bar-cell', bar)];
      return multi ? [t.dpid, ...cells] : cells;
    }), 'tables'));
}

function renderFleet(answer, switches) {
  if (!answer.ok) return replace('fleet', failure(answer, 'fleet'));
  const fleet = answer.body;
  if (!fleet.registry) {
    return replace('fleet', el('p', 'muted', 'No registry: this node takes its VPCs and ' +
                               'tunnels from its config file.'));
  }
  const health = new Map();  // VTEP address -> health of our tunnel to it
  if (switches.ok) {
    for (const sw of switches.body.switches) {
      for (const p of sw.tunnel_ports) if (p.remote_ip) health.set(p.remote_ip, healthOf(p));
    }
  }
  const nodes = table(['node', 'VTEP', 'tunnel', 'VPCs', 'ports'],
    fleet.nodes.map((n) => {
      const tunnel = n.this_node ? el('span', 'muted', 'this node')
        : health.has(n.local_ip) ? badge(health.get(n.local_ip), 'health health-' + health.get(n.local_ip))
          : el('span', 'muted', 'none');
      const row = [el('td', n.this_node ? 'this-node' : null, n.name), n.local_ip,
                   el('td', null, tunnel), n.vpcs.join(', '), String(n.ports)];
      return row;
    }), 'fleet-nodes');
  const vpcs = table(['VNI', 'name', 'CIDR', 'nodes', 'ports'],
    fleet.vpcs.map((v) => [el('td', 'vni', v.vni_hex), v.name || '', v.cidr || '',
                           v.nodes.join(', '), String(v.ports)]), 'fleet-vpcs');
  replace('fleet', el('p', 'muted', fleet.nodes.length + ' nodes, ' + fleet.vpcs.length +
                      ' VPCs, registry revision ' + fleet.revision),
          el('h3', null, 'Nodes'), nodes, el('h3', null, 'VPCs'), vpcs);
}

loop();
