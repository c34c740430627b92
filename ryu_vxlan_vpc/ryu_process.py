"""A ``ryu-manager ... ryu_vxlan_vpc.app`` process, optionally inside a network namespace."""
import os
import subprocess
import sys

from .shell import in_netns

BIN = os.path.dirname(sys.executable)


class RyuManager:
    """ryu-manager running our app, its output appended to ``log_file``."""

    def __init__(self, netns, config_file, log_file, ofp_port=6633, extra=(),
                 ryu_manager=None):
        self.argv = in_netns(netns, [
            ryu_manager or os.path.join(BIN, 'ryu-manager'), '--config-file', config_file,
            '--ofp-tcp-listen-port', str(ofp_port), *extra, 'ryu_vxlan_vpc.app'])
        self.log_file = log_file
        self.proc = None

    def start(self):
        with open(self.log_file, 'ab') as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        return self

    def log(self):
        with open(self.log_file, errors='replace') as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
