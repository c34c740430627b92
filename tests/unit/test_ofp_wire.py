"""wire.py's bytes equal what encode.py's Ryu messages serialise to, byte for byte.

Every comparison serialises the Ryu message (encode.flow_mod, wrapped in ONFBundleAddMsg
where the bundle is tested) with the same xid and compares whole messages, so a wrong
length, field, order or padding anywhere fails. Pure: nothing is sent.
"""
import random
import types

import pytest
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from ryu_vxlan_vpc.flows import mods
from ryu_vxlan_vpc.flows import model as m
from ryu_vxlan_vpc.model import Vpc
from ryu_vxlan_vpc.ofp import encode, fields, wire
from ryu_vxlan_vpc.pipeline import br_tun

DP = types.SimpleNamespace(ofproto=ofp, ofproto_parser=parser)  # all Ryu's messages read
BUNDLE_FLAGS = ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED
LEARN_COOKIE = 0xa9eb8f9011f7e038


def ryu_bytes(mod, xid):
    msg = encode.flow_mod(DP, mod)
    msg.xid = xid
    msg.serialize()
    return bytes(msg.buf)


def ryu_bundle_add(bundle_id, flags, mod, xid):
    msg = parser.ONFBundleAddMsg(DP, bundle_id, flags, encode.flow_mod(DP, mod), [])
    msg.set_xid(xid)
    msg.serialize()
    return bytes(msg.buf)


def states():
    """Node states covering every table builder: the article, none/many tunnels and VPCs,
    other cookies, and l2population + ARP responder with remote ports."""
    many = tuple(Vpc(0x1000 + i, 1 + i) for i in range(300))
    routes = tuple(br_tun.RemoteRoute(0x1000 + i % 300, '0c:eb:1e:%02x:%02x:8c' % (i // 256,
                                                                                  i % 256),
                                      '10.%d.%d.7' % (i // 256, i % 256), 2 + i % 16)
                   for i in range(600))
    return [
        br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=(8,), vpcs=(Vpc(0x22, 12),)),
        br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=(), vpcs=(Vpc(0x22, 12),)),
        br_tun.BrTunState(patch_int_ofport=0xfffffffe, tunnel_ofports=tuple(range(2, 18)),
                          vpcs=many, flow_cookie=(1 << 64) - 1, learn_cookie=0,
                          learn_hard_timeout=0),
        br_tun.BrTunState(patch_int_ofport=1, tunnel_ofports=tuple(range(2, 18)), vpcs=many,
                          l2_population=True, arp_responder=True, remote_ports=routes),
    ]


def learned(vid=12, mac='0c:eb:1e:c1:ff:8c', vni=0x22, port=8):
    """The flow OVS's learn() writes into table 20 (see the article)."""
    return m.Flow(table=20, priority=1, match=m.Match(vlan_tci=(vid, 0xfff), dl_dst=mac),
                  actions=(m.Load(0, br_tun.VLAN_TCI), m.Load(vni, br_tun.TUN_ID),
                           m.Output(port)),
                  cookie=LEARN_COOKIE, hard_timeout=300)


def all_mods():
    flows = [f for state in states() for f in br_tun.build(state)]
    flows += [learned(), learned(4094, 'FF:FF:FF:FF:FF:FE', (1 << 24) - 1, 0xfffffff8)]
    flows.append(m.Flow(table=22, priority=5, match=m.Match(dl_vlan=7),
                        actions=(m.StripVlan(), m.SetTunnel(0x1234567890abcdef),
                                 m.Output(3)), cookie=0x79))  # set_tunnel64
    changes = [mods.AddFlow(f) for f in flows] + [mods.DeleteStrict(f) for f in flows]
    changes += [
        mods.DeleteFlows(cookie=LEARN_COOKIE),
        mods.DeleteFlows(cookie=LEARN_COOKIE, table=20),
        mods.DeleteFlows(cookie=LEARN_COOKIE, table=20, out_port=8),
        mods.DeleteFlows(cookie=LEARN_COOKIE, table=20, match=m.Match(vlan_tci=(12, 0xfff))),
        mods.DeleteFlows(cookie=0x79, match=m.Match(tun_id=(0x22, 0xff00), in_port=3)),
        # A foreign-looking flow read back from a switch, deleted exactly (Match.other).
        mods.DeleteStrict(m.Flow(table=30, priority=5, cookie=0x79, actions=(), match=m.Match(
            eth_type=0x0800, other=(('ipv4_src', ('10.0.0.0', '255.0.0.0')),
                                    ('reg3', (5, 0xff))))))]
    return changes


@pytest.mark.parametrize('xid', [0, 1, 0xfffffffe])
def test_every_pipeline_shape_encodes_like_ryu(xid):
    changes = all_mods()
    assert len(changes) > 2000
    for mod in changes:
        assert wire.flow_mod_bytes(mod, xid) == ryu_bytes(mod, xid), mod


def test_bundle_adds_encode_like_ryu():
    changes = all_mods()[::7]
    xids = list(range(1000, 1000 + len(changes)))
    expected = b''.join(ryu_bundle_add(42, BUNDLE_FLAGS, mod, xid)
                        for mod, xid in zip(changes, xids))
    assert wire.bundle_bytes(changes, 42, BUNDLE_FLAGS, xids) == expected
    mod = changes[3]
    # The inner message takes the outer xid, whatever it was serialised with (as in Ryu).
    assert (wire.bundle_add_bytes(0xffffffff, ofp.ONF_BF_ATOMIC, wire.flow_mod_bytes(mod, 5),
                                  9) == ryu_bundle_add(0xffffffff, ofp.ONF_BF_ATOMIC, mod, 9))
    assert wire.flow_mods_bytes(changes[:5], xids[:5]) == b''.join(
        ryu_bytes(mod, xid) for mod, xid in zip(changes[:5], xids))
    with pytest.raises(ValueError):  # an xid per change, or nothing is encoded
        wire.bundle_bytes(changes, 42, BUNDLE_FLAGS, xids[1:])


def test_what_it_cannot_encode_is_a_value_error():
    flow = learned()
    for actions in [(m.Opaque('note:00'),), (m.Load(1, m.FieldRef('NXM_NX_XXREG0', 0, 8)),),
                    (m.SetTunnel(1 << 64),), (m.Load(1, m.FieldRef('NXM_OF_ARP_OP')),),
                    (m.Load(1 << 64, m.FieldRef('NXM_NX_REG0')),)]:
        with pytest.raises(ValueError):
            wire.flow_mod_bytes(mods.AddFlow(m.Flow(20, 1, flow.match, actions)), 1)
    with pytest.raises(ValueError):  # PCP bits: encode.py refuses them as well
        wire.flow_mod_bytes(mods.DeleteStrict(m.Flow(20, 1, m.Match(vlan_tci=(0, 0xe000)),
                                                     ())), 1)
    with pytest.raises(ValueError):
        wire.flow_mod_bytes(mods.AddFlow(m.Flow(20, 1 << 16, flow.match, ())), 1)
    with pytest.raises(ValueError):
        wire.flow_mod_bytes('not a mod', 1)


def test_unusual_spellings_go_through_ryu_and_still_match():
    # Upper-case and dash-separated MACs, IPs: netaddr reads them; the bytes must agree.
    for match in [m.Match(dl_dst='0C-EB-1E-C1-FF-8C'), m.Match(dl_src=('0C:EB:1E:C1:FF:8C',
                                                                       'ff:ff:ff:00:00:00')),
                  m.Match(eth_type=0x0806, arp_tpa='10.0.0.1')]:
        mod = mods.DeleteStrict(m.Flow(21, 1, match, ()))
        assert wire.flow_mod_bytes(mod, 3) == ryu_bytes(mod, 3)


def test_next_xids_continue_the_datapaths_counter():
    dp = types.SimpleNamespace(ofproto=ofp, xid=0xfffffffe)
    assert wire.next_xids(dp, 3) == [0xffffffff, 0, 1]
    assert dp.xid == 1


# --- random flows of our model -----------------------------------------------------------
# Fields loads and learn() may name: known to the model and to encode.py.
FIELD_NAMES = sorted(set(m.FIELD_WIDTHS) & set(fields.RYU_NAME))
MOVE_NAMES = sorted(fields.MOVE_RYU_NAME)


def _mac(rng):
    mac = ':'.join('%02x' % rng.randrange(256) for _ in range(6))
    return mac.upper() if rng.random() < 0.1 else mac


def _ref(rng, name=None):
    name = name or rng.choice(FIELD_NAMES)
    width = m.FIELD_WIDTHS[name]
    ofs = rng.randrange(width)
    return m.FieldRef(name, ofs, rng.randint(1, width - ofs))


def _match(rng):
    fields = {}
    maybe = rng.random
    if maybe() < 0.4:
        fields['tun_id'] = (rng.randrange(1 << 64) if maybe() < 0.5
                            else (rng.randrange(1 << 64), rng.randrange(1 << 64)))
    if maybe() < 0.4:
        fields['in_port'] = rng.choice([1, 8, rng.randrange(1 << 32)])
    if maybe() < 0.3:
        fields['vlan_tci'] = (rng.randrange(1 << 13) if maybe() < 0.3
                              else (rng.randrange(1 << 13), rng.randrange(1 << 13)))
    elif maybe() < 0.5:
        fields['dl_vlan'] = rng.randrange(4096)
    for key in ('dl_src', 'dl_dst'):
        if maybe() < 0.5:
            fields[key] = _mac(rng) if maybe() < 0.6 else (_mac(rng), _mac(rng))
    if maybe() < 0.2:
        fields['eth_type'] = rng.choice([0x0806, 0x0800, rng.randrange(1 << 16)])
        if maybe() < 0.5:
            fields['arp_tpa'] = '.'.join(str(rng.randrange(256)) for _ in range(4))
    return m.Match(**fields)


def _action(rng):
    kind = rng.randrange(10)
    if kind == 0:
        return m.Output(rng.choice([1, 8, 0xfffffff8, rng.randrange(1 << 32)]))
    if kind == 1:
        return m.Resubmit(rng.randrange(256))
    if kind == 2:
        return m.ModVlanVid(rng.randrange(4096))
    if kind == 3:
        return m.StripVlan()
    if kind == 4:
        return m.SetTunnel(rng.choice([rng.randrange(1 << 24), rng.randrange(1 << 64)]))
    if kind == 5:
        ref = _ref(rng)
        return m.Load(rng.randrange(1 << min(ref.n_bits, 64)), ref)
    if kind == 6:
        width = rng.choice([16, 32, 48])
        names = [n for n in MOVE_NAMES if m.FIELD_WIDTHS[n] >= width]
        return m.Move(m.FieldRef(rng.choice(names), 0, width),
                      m.FieldRef(rng.choice(names), 0, width))
    if kind == 7:
        field = rng.choice(m.SET_FIELDS)
        if field == 'arp_op':
            value = rng.randrange(1 << 16)
        elif field in ('arp_spa', 'arp_tpa'):
            value = '.'.join(str(rng.randrange(256)) for _ in range(4))
        else:
            value = _mac(rng)
        return m.SetField(field, value)
    return _learn(rng)


def _learn(rng):
    specs = []
    for _ in range(rng.randrange(6)):
        dst = _ref(rng)
        # The source: a constant, or the same number of bits of some field.
        src = rng.choice([m.FieldRef(rng.choice(FIELD_NAMES), rng.randrange(64), dst.n_bits),
                          rng.randrange(1 << min(dst.n_bits, 64))])
        kind = rng.randrange(3)
        if kind == 0:
            specs.append(m.LearnMatch(dst, src))
        elif kind == 1:
            specs.append(m.LearnLoad(dst, src))
        else:
            specs.append(m.LearnOutput(_ref(rng, 'NXM_OF_IN_PORT')))
    return m.Learn(table=rng.randrange(255), specs=tuple(specs),
                   priority=rng.randrange(1 << 16), cookie=rng.randrange(1 << 64),
                   idle_timeout=rng.randrange(1 << 16), hard_timeout=rng.randrange(1 << 16))


def random_mod(rng):
    flow = m.Flow(table=rng.randrange(255), priority=rng.randrange(1 << 16),
                  match=_match(rng), actions=tuple(_action(rng) for _ in range(rng.randrange(7))),
                  cookie=rng.randrange(1 << 64), idle_timeout=rng.randrange(1 << 16),
                  hard_timeout=rng.randrange(1 << 16))
    kind = rng.randrange(3)
    if kind == 0:
        return mods.AddFlow(flow)
    if kind == 1:
        return mods.DeleteStrict(flow)
    return mods.DeleteFlows(cookie=flow.cookie, table=rng.choice([None, flow.table]),
                            match=flow.match, out_port=rng.choice([None, 8, 0xfffffffe]))


def test_random_flows_encode_like_ryu():
    rng = random.Random(20240612)
    kinds = set()
    for i in range(3000):
        mod = random_mod(rng)
        xid = rng.randrange(1 << 32)
        try:
            expected = ryu_bytes(mod, xid)
        except ValueError:  # e.g. vlan_tci with PCP bits: both refuse
            with pytest.raises(ValueError):
                wire.flow_mod_bytes(mod, xid)
            continue
        assert wire.flow_mod_bytes(mod, xid) == expected, mod
        if isinstance(mod, mods.AddFlow):  # only adds carry actions
            kinds.update(type(a).__name__ for a in mod.flow.actions)
    # The generator reached every kind of action it knows, in flows that encoded.
    assert kinds >= {'Output', 'Resubmit', 'ModVlanVid', 'StripVlan', 'SetTunnel', 'Load',
                     'Move', 'SetField', 'Learn'}
