"""Run a function on a module right after its first import: the start-up hooks' tool.

The ``.pth`` hooks (``_eventlet_compat``, ``_manager_hook``) must change a third-party
module before the code that imported it uses it, without importing it themselves (a
``.pth`` runs at every interpreter start in the virtualenv). ``after_import`` registers
one meta-path finder that, for the names it watches, asks the other finders for the real
spec and wraps its loader so the patches run once the module has executed.
"""
import importlib.abc
import importlib.util
import sys

_PATCHES = {}  # module name -> [patch(module)]


def after_import(fullname, patch):
    """Call ``patch(module)`` once ``fullname`` is imported (now, if it already is)."""
    if fullname in sys.modules:
        patch(sys.modules[fullname])
        return
    _PATCHES.setdefault(fullname, []).append(patch)
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, wrapped, patches):
        self._wrapped = wrapped
        self._patches = patches

    def __getattr__(self, name):
        # get_code, get_source, get_filename...: tracebacks and ``python -m`` need them.
        return getattr(self._wrapped, name)

    def create_module(self, spec):
        return self._wrapped.create_module(spec)

    def exec_module(self, module):
        self._wrapped.exec_module(module)
        for patch in self._patches:
            patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        patches = _PATCHES.get(fullname)
        if not patches:
            return None
        # Ask the remaining finders for the real spec, then wrap its loader.
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader, patches)
        return spec
