"""Supply ``eventlet.wsgi.ALREADY_HANDLED`` for Ryu 4.34 on Python 3.11.

``ryu.app.wsgi`` (imported by ``ryu.cmd.manager`` before any app loads) does
``from eventlet.wsgi import ALREADY_HANDLED``. Eventlet removed that sentinel in the
releases that run on 3.11: a websocket handler now flags ``WSGI_LOCAL.already_handled``
and the server ignores the body it returns. An empty iterable is therefore a correct
stand-in: Ryu returns it only from websocket responses, where nothing must be written.

Installed as a ``.pth`` hook (see setup.py), so it applies to every way Ryu starts in
the virtualenv (``.venv/bin/ryu-manager``, ``python -m ryu.cmd.manager``). It imports
nothing itself: eventlet is patched only if and when something imports ``eventlet.wsgi``
(``_import_hooks.after_import``).
"""
from ._import_hooks import after_import

TARGET = 'eventlet.wsgi'


def _patch(module):
    if not hasattr(module, 'ALREADY_HANDLED'):
        module.ALREADY_HANDLED = []


def install():
    after_import(TARGET, _patch)


install()
