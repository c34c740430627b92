"""Sending a sync's flow changes to a switch: one atomic bundle, or in order; and barriers.

The only place that talks OpenFlow bundles (the ONF extension OVS supports in 1.3).
``switch.watched`` / ``switch.rejected`` are the app's bookkeeping of the errors the switch
sends for exactly these messages (the app's error handler counts them).

The changes are encoded by ``wire`` (struct-packed bytes equal to Ryu's serialisation; a
change it cannot encode goes through Ryu's objects, ``encode.flow_mod``), rows of the bulk
shapes (``AddRows``) by ``rows_wire`` (the same bytes, one pack per row), and sent as
buffers of CHUNK changes with ``datapath.send``: a sync of 200k flows neither builds 200k
Ryu objects nor holds the green threads (echo replies, other switches) for its whole length.
"""
import itertools
import logging

from ryu.app.ofctl import api as ofctl_api
from ryu.app.ofctl import exception as ofctl_exception
from ryu.lib import hub

from . import batches, wire

LOG = logging.getLogger('ryu_vxlan_vpc.app')
_BUNDLE_IDS = itertools.count(1)
CHUNK = 2000   # flow changes per buffer handed to the datapath (then other threads run)


class BundleError(Exception):
    """The switch did not confirm a bundle control message."""


def send_changes(app, switch, mods):
    """Send flow changes (flows.mods) as one atomic bundle when the switch takes bundles,
    else in order.

    Returns how they went. Raises if the switch rejected any (the sync is retried); in
    a bundle nothing is applied then: OVS checks each change as it is added, so a
    rejected one makes us discard the bundle instead of committing the rest.
    """
    datapath = switch.datapath
    ofp = datapath.ofproto
    mods = list(mods)
    total = batches.count(mods)
    bundle = _open_bundle(app, switch) if switch.bundles else None
    switch.watched, rejected_before = batches.XidRanges(ofp.MAX_XID), switch.rejected
    try:
        for part in batches.chunks(mods, CHUNK):
            xids = wire.next_xids(datapath, batches.count(part))
            switch.watched.add(xids)
            if not datapath.send(batches.encoded(datapath, part, bundle, xids)):
                raise ConnectionError('switch %016x disconnected while we sent' % switch.dpid)
            hub.sleep(0)
        barrier(app, datapath)  # errors for the messages above arrive before its reply
        rejected = switch.rejected - rejected_before
    except Exception:
        if bundle is not None:   # nothing was committed; do not leave the bundle open
            try:
                _bundle_control(app, datapath, bundle, ofp.ONF_BCT_DISCARD_REQUEST)
            except Exception:     # the switch may be gone: it drops the bundle with us
                pass
        raise
    finally:
        switch.watched = None
    if bundle is None:
        if rejected:
            raise RuntimeError('the switch rejected %d of %d flow changes (see errors '
                               'above)' % (rejected, total))
        return '%d messages one by one' % total
    if rejected:
        _bundle_control(app, datapath, bundle, ofp.ONF_BCT_DISCARD_REQUEST)
        raise RuntimeError('the switch rejected %d of %d flow changes (see errors above); '
                           'bundle %d discarded, nothing changed'
                           % (rejected, total, bundle))
    try:
        _bundle_control(app, datapath, bundle, ofp.ONF_BCT_COMMIT_REQUEST)
    except ofctl_exception.OFError as exc:
        raise RuntimeError('the switch refused to commit bundle %d of %d flow changes, '
                           'nothing changed: %s' % (bundle, total, exc)) from None
    return 'in one atomic bundle'


def _open_bundle(app, switch):
    """A new bundle's id, or None (for good) if the switch does not do bundles."""
    bundle = next(_BUNDLE_IDS)
    try:
        _bundle_control(app, switch.datapath, bundle,
                        switch.datapath.ofproto.ONF_BCT_OPEN_REQUEST)
        return bundle
    except (ofctl_exception.OFError, BundleError) as exc:
        switch.bundles = False
        LOG.warning('switch %016x: no OpenFlow bundles (%s); sending flow changes one by '
                    'one from now on', switch.dpid, exc)
        return None


def _bundle_control(app, datapath, bundle, kind):
    """Open, commit or discard; returns when the switch confirmed it."""
    parser, ofp = datapath.ofproto_parser, datapath.ofproto
    request = parser.ONFBundleCtrlMsg(datapath, bundle, kind, batches.bundle_flags(ofp), [])
    reply = ofctl_api.send_msg(app, request, reply_cls=parser.ONFBundleCtrlMsg)
    # Each request type's reply is the next number (OPEN_REQUEST 0 -> OPEN_REPLY 1).
    if getattr(reply, 'type', None) != kind + 1 or reply.bundle_id != bundle:
        raise BundleError('bundle %d: no confirmation for control type %d (got %r)'
                          % (bundle, kind, reply))


def barrier(app, datapath):
    """Returns once the switch has processed (and answered errors for) all sent before."""
    parser = datapath.ofproto_parser
    ofctl_api.send_msg(app, parser.OFPBarrierRequest(datapath),
                       reply_cls=parser.OFPBarrierReply)
