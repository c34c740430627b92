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
    parser.add_argument('--version', action='version',
                        version='%(prog)s ' + _version())
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _version():
    """The installed distribution's version: the one pip put here, not a copy in code."""
    try:
        return importlib.metadata.version('ryu_vxlan_vpc')
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
