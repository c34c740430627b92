"""``ryu-manager ... ryu_vxlan_vpc.app``: config files checked before Ryu reads them.

Why a start-up hook: ``ryu.cmd.manager.main`` parses ``cfg.CONF`` (every --config-file)
before it imports any app, and a file oslo.config cannot read ends it with a traceback
(not UTF-8, a byte order mark, a directory, a line without "=", a missing file: Ryu
retries a ConfigFilesNotFoundError once and lets the second one escape) or with exit 1
(a [DEFAULT] value of the wrong type). Our app module runs too late to help, so this
module, loaded by ``ryu_vxlan_vpc_manager_hook.pth`` at interpreter start-up, replaces
``ryu.cmd.manager.main`` right after that module is imported (``_import_hooks``) with
``main`` below. Installed in the virtualenv, it covers ``.venv/bin/ryu-manager`` (which
does ``from ryu.cmd.manager import main``), not ``python -m ryu.cmd.manager`` (which runs
the module as ``__main__``, never importing it by name).

``main`` changes nothing unless ``ryu_vxlan_vpc.app`` is among the apps to run: plain
ryu-manager with other apps behaves exactly as Ryu ships it. With our app it
- checks every config file first (``config_files.check_files``, as bootstrap does) and
  the type of each Ryu option set under [DEFAULT] (oslo would exit 1 from inside its
  argument parser), then
- calls Ryu's main; an oslo.config error escaping it still becomes one line.
A refused configuration is one line on stderr, ``ryu-manager: ...``, and exit status 2,
before any listener or switch is touched.
"""
import sys

from ._import_hooks import after_import

APP = 'ryu_vxlan_vpc.app'
TARGET = 'ryu.cmd.manager'


def _runs_our_app(argv):
    """APP as a positional argument or in --app-lists (a comma-separated list)."""
    return any(APP in arg.split('=', 1)[-1].split(',') for arg in argv)


def _config_files(argv):
    """The files of --config-file (argparse also takes an unambiguous prefix such as
    --config-f) and the *.conf files of --config-dir, in the order oslo reads them."""
    import glob
    import os
    files, dirs, args = [], [], iter(argv)
    for arg in args:
        if arg == '--':
            break
        name, eq, value = arg.partition('=')
        if len(name) > len('--config-') and '--config-file'.startswith(name):
            files.append(value if eq else next(args, ''))
        elif len(name) > len('--config-') and '--config-dir'.startswith(name):
            dirs.append(value if eq else next(args, ''))
    for directory in dirs:  # a missing one is oslo's ConfigDirNotFoundError, caught below
        files += sorted(glob.glob(os.path.join(os.path.expanduser(directory), '*.conf')))
    return files


def _check_ryu_defaults(files):
    """Each [DEFAULT] value of an option Ryu has registered must convert to its type.

    oslo converts those (command-line options) inside its argument parser and exits 1 with
    "argument --wsapi_port: Invalid Integer value" naming no file. The conversion is the
    option's own type, as oslo applies it to each value written; the option is looked up
    read-only (``_get_opt_info``: set_override would leave its location behind, which the
    app reads to tell a default from a value given)."""
    from oslo_config import cfg
    from ryu.cfg import CONF  # Ryu's own ConfigOpts, not oslo's global one

    from .config import ConfigFileError
    from .config_files import quoted
    for parsed in files:
        for key, value, line in parsed.items_in('DEFAULT'):
            try:
                opt = CONF._get_opt_info(key)['opt']  # pylint: disable=protected-access
            except cfg.NoSuchOptError:  # not Ryu's: another app's, or nobody's
                continue
            try:
                opt.type(value)
            except (ValueError, TypeError) as exc:
                raise ConfigFileError(parsed.path, '[DEFAULT] %s = %s: %s'
                                      % (key, quoted(value), exc), line) from None


def _refuse(message):
    print('ryu-manager: %s' % message, file=sys.stderr)
    sys.exit(2)


def _wrap(ryu_main):
    def main(args=None, prog=None):
        argv = sys.argv[1:] if args is None else list(args)
        if not _runs_our_app(argv):
            return ryu_main(args, prog)
        from oslo_config import cfg

        from . import config, config_files
        try:
            _check_ryu_defaults(config_files.check_files(_config_files(argv)))
        except config.ConfigError as exc:
            _refuse(exc)
        try:
            return ryu_main(args, prog)
        except cfg.Error as exc:
            _refuse('bad configuration: %s' % config.one_line(exc))
    main.ryu_main = ryu_main
    main.__doc__ = ryu_main.__doc__
    return main


def _patch(module):
    if not hasattr(module.main, 'ryu_main'):
        module.main = _wrap(module.main)


after_import(TARGET, _patch)
