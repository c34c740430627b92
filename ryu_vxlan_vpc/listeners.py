"""The controller's two listeners, OpenFlow and REST: on loopback unless told otherwise,
and checked before Ryu binds them.

Ryu listens on every address by default; whoever reaches the OpenFlow port can connect
with a switch's dpid and speak for it, and the REST API has no authentication. The
controller runs on the node it programs, so both default to 127.0.0.1; an explicit
option (``--ofp-listen-host``, ``--wsapi-host`` or the config file) is respected as given.

Ryu binds both in green threads that only log a failure and die, leaving a controller up
that no switch (or client) can reach, or a traceback. ``check_bindable`` tries each port
first and says why it cannot be used.
"""
import socket

from oslo_config import cfg as oslo_cfg
from ryu.ofproto import ofproto_common

from . import config


class ListenerError(Exception):
    """A listener that cannot work; ``status`` is the exit status to stop with."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def loopback_by_default(conf, option):
    """``option`` (ofp_listen_host, wsapi_host) is 127.0.0.1 unless it was given."""
    location = conf.get_location(option)
    if location is None or location.location == oslo_cfg.Locations.opt_default:
        conf.set_override(option, '127.0.0.1')


def openflow_ports(conf):
    """[(port, option)] that ryu.controller.controller will listen on, as it decides: one
    listener, TLS when a key and cert are set; with no port given, the IANA port and the
    old one."""
    use_ssl = conf.ctl_privkey is not None and conf.ctl_cert is not None
    if not conf.ofp_tcp_listen_port and not conf.ofp_ssl_listen_port:
        if use_ssl:
            return [(ofproto_common.OFP_SSL_PORT, 'ofp_ssl_listen_port'),
                    (ofproto_common.OFP_SSL_PORT_OLD, 'ofp_ssl_listen_port')]
        return [(ofproto_common.OFP_TCP_PORT, 'ofp_tcp_listen_port'),
                (ofproto_common.OFP_TCP_PORT_OLD, 'ofp_tcp_listen_port')]
    if use_ssl:
        return [(conf.ofp_ssl_listen_port, 'ofp_ssl_listen_port')]
    return [(conf.ofp_tcp_listen_port, 'ofp_tcp_listen_port')]


def check_no_clash(conf):
    """OpenFlow and REST on one port would both bind it and neither would work."""
    if conf.wsapi_port in {port for port, _ in openflow_ports(conf)}:
        raise config.ConfigError('wsapi_port', conf.wsapi_port,
                                 'the OpenFlow listener already uses this port', 'DEFAULT')


def describe(conf):
    return 'OpenFlow on %s port(s) %s; REST API on http://%s:%d/vxlan-vpc/' % (
        conf.ofp_listen_host or '0.0.0.0',
        ', '.join(str(port) for port, _ in openflow_ports(conf)),
        conf.wsapi_host or '0.0.0.0', conf.wsapi_port)


def check_bindable(conf):
    """Raise ListenerError for the first listener that cannot be bound now."""
    host = conf.ofp_listen_host or '0.0.0.0'
    for port, option in openflow_ports(conf):
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise ListenerError(2, '[DEFAULT] %s = %r: outside 1..65535' % (option, port))
        why = bind_problem(host, port)
        if why:
            raise ListenerError(1, 'cannot listen for OpenFlow on %s port %d (%s, from %s): %s'
                                % (host, port, 'ofp_listen_host', option, why))
    host = conf.wsapi_host or '0.0.0.0'
    why = bind_problem(host, conf.wsapi_port)
    if why:
        raise ListenerError(1, 'cannot listen for REST on %s port %d (wsapi_host, wsapi_port): '
                               '%s' % (host, conf.wsapi_port, why))


def bind_problem(host, port):
    """Why ``host``:``port`` cannot be listened on now, or None. SO_REUSEADDR as eventlet's
    listen sets it, so a port in TIME_WAIT is fine and one another process listens on is not."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except (OSError, OverflowError, ValueError) as exc:
        return getattr(exc, 'strerror', None) or str(exc)
    return None
