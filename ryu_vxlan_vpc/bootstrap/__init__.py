"""Bootstrap of one compute node through ovs-vsctl and ip, as in the article.

- ``plan``: pure; Settings + Target -> ordered Steps (a check on observed state, a command).
- ``state``: the node's observed state (OVS database, links, namespaces) for the checks.
- ``execute``: runs the steps whose check says they are not done yet.
- ``readback``: afterwards, what ovs-vswitchd made of it (ofport, error of each interface).
- ``command``: the ``bootstrap`` and ``teardown`` subcommands of ``ryu-vxlan-vpc``.
"""
from .execute import apply, print_plan  # noqa: F401
from .plan import PlanError, Step, Target, plan_bootstrap, plan_teardown  # noqa: F401
