"""``ryu-vxlan-vpc``: one console script, one subcommand module per job.

Each module in COMMAND_MODULES provides ``register(subparsers)``, which adds its
subcommands and sets ``func(args) -> exit status`` on them.
"""
import argparse
import importlib
import importlib.metadata
import sys

COMMAND_MODULES = (
    'ryu_vxlan_vpc.rest.client',
    'ryu_vxlan_vpc.bootstrap.command',
    'ryu_vxlan_vpc.lab.command',
    'ryu_vxlan_vpc.registry.command',
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='ryu-vxlan-vpc',
        description='Neutron-style VXLAN VPC overlay on Open vSwitch, driven by Ryu.')
    parser.add_argument('--version', action=_VersionAction, nargs=0, default=argparse.SUPPRESS,
                        help="show the installed package's version and exit")
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


class _VersionAction(argparse.Action):
    """argparse's "version" action, but the metadata is read only when asked for."""

    def __call__(self, parser, namespace, values, option_string=None):
        print('%s %s' % (parser.prog, _version()))
        parser.exit()


def _version():
    """The installed distribution's version: the one pip put here, not a copy in code."""
    try:
        # None when the metadata has no Version (a half-written install)
        return importlib.metadata.version('ryu_vxlan_vpc') or 'unknown'
    except importlib.metadata.PackageNotFoundError:
        return 'unknown (not installed)'


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
