import uuid

import pytest

from realenv import require_real
from ryu_vxlan_vpc.ovs_instance import OvsInstance
from ryu_vxlan_vpc.shell import run


@pytest.fixture
def node(tmp_path):
    """A network namespace with a private OVS; both removed afterwards, pass or fail."""
    require_real()
    netns = 't3-%s' % uuid.uuid4().hex[:8]
    run(['ip', 'netns', 'add', netns])
    ovs = OvsInstance(str(tmp_path / 'ovs'), netns)
    try:
        run(['ip', 'link', 'set', 'lo', 'up'], netns=netns)
        ovs.start()
        yield ovs
    finally:
        ovs.stop()
        run(['ip', 'netns', 'del', netns], check=False)
