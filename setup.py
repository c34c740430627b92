"""Build script. Metadata lives in setup.cfg; this file only adds the start-up hooks.

The hooks (``ryu_vxlan_vpc_eventlet_compat.pth``: Ryu 4.34 on a new eventlet;
``ryu_vxlan_vpc_manager_hook.pth``: ryu-manager checks our config files before Ryu reads
them) must land at the top of site-packages, outside any package, which setup.cfg cannot
express: we copy them into the build tree the way setuptools ships its own
``distutils-precedence.pth``.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTHS = ('ryu_vxlan_vpc_eventlet_compat.pth', 'ryu_vxlan_vpc_manager_hook.pth')


class BuildPyWithPth(build_py):
    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        for pth in PTHS:
            self.copy_file(os.path.join(here, pth), os.path.join(self.build_lib, pth),
                           preserve_mode=0)

    def get_outputs(self, include_bytecode=1):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, pth)
                                                        for pth in PTHS]


setup(cmdclass={'build_py': BuildPyWithPth})
