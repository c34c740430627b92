"""Supply ``eventlet.wsgi.ALREADY_HANDLED`` for Ryu 4.34 on Python 3.11.

``ryu.app.wsgi`` (imported by ``ryu.cmd.manager`` before any app loads) does
``from eventlet.wsgi import ALREADY_HANDLED``. Eventlet removed that sentinel in the
releases that run on 3.11: a websocket handler now flags ``WSGI_LOCAL.already_handled``
and the server ignores the body it returns. An empty iterable is therefore a correct
stand-in: Ryu returns it only from websocket responses, where nothing must be written.

Installed as a ``.pth`` hook (see setup.py), so it applies to every way Ryu starts in
the virtualenv (``.venv/bin/ryu-manager``, ``python -m ryu.cmd.manager``). It registers
a meta-path finder and imports nothing itself: eventlet is patched only if and when
something imports ``eventlet.wsgi``.
"""
import importlib.abc
import importlib.util
import sys

TARGET = 'eventlet.wsgi'


def _patch(module):
    if not hasattr(module, 'ALREADY_HANDLED'):
        module.ALREADY_HANDLED = []


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, wrapped):
        self._wrapped = wrapped

    def create_module(self, spec):
        return self._wrapped.create_module(spec)

    def exec_module(self, module):
        self._wrapped.exec_module(module)
        _patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET:
            return None
        # Ask the remaining finders for the real spec, then wrap its loader.
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader)
        return spec


def install():
    if TARGET in sys.modules:
        _patch(sys.modules[TARGET])
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
