import pytest

from article_node import COMPUTE1_CONF, OFP_PORT, build_article_br_tun
from realenv import RyuManager, require_real
from ryu_vxlan_vpc.ovs_instance import private_ovs


@pytest.fixture
def node():
    """A network namespace with a private OVS; both removed afterwards, pass or fail."""
    require_real()
    with private_ovs('t3') as (ovs, _):
        yield ovs


@pytest.fixture
def controller(node, tmp_path):
    """The article's compute1 br-tun with a real ryu-manager (REST on 8080) connected."""
    build_article_br_tun(node)
    ryu = RyuManager(node.netns, str(COMPUTE1_CONF), str(tmp_path / 'ryu.log'), OFP_PORT,
                     extra=['--wsapi-port', '8080'])
    ryu.start()
    try:
        yield ryu
    finally:
        ryu.stop()
