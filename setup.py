"""Build script. Metadata lives in setup.cfg; this file only adds the start-up hook.

The hook ``ryu_vxlan_vpc_eventlet_compat.pth`` must land at the top of site-packages,
outside any package, which setup.cfg cannot express: we copy it into the build tree
the way setuptools ships its own ``distutils-precedence.pth``.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = 'ryu_vxlan_vpc_eventlet_compat.pth'


class BuildPyWithPth(build_py):
    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        self.copy_file(os.path.join(here, PTH), os.path.join(self.build_lib, PTH),
                       preserve_mode=0)

    def get_outputs(self, include_bytecode=1):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH)]


setup(cmdclass={'build_py': BuildPyWithPth})
