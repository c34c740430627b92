"""Every endpoint the API names in its 404 answer is routed to a handler of its own (a
merge once left two handlers outside their controller class: only the 404 knew them)."""
import json
import subprocess
import sys

# Ryu's WSGI stack imports eventlet.wsgi: kept out of the test process (see test_rest_guard).
CHILD = r"""
import json, types
from unittest import mock
from ryu.app.wsgi import WSGIApplication
from ryu_vxlan_vpc.rest import api, server
wsgi = WSGIApplication()
with mock.patch.object(server, 'install'):   # the route table only; no server is started
    api.register(wsgi, types.SimpleNamespace(sync_observers=[]))
out = {}
for path in [api.PREFIX + p for p in api.ENDPOINTS] + [api.METRICS]:
    match = wsgi.mapper.match(path, {'REQUEST_METHOD': 'GET'})
    out[path] = match and match.get('action')
print(json.dumps(out))
"""


def test_every_endpoint_named_in_the_404_has_its_own_handler():
    child = subprocess.run([sys.executable, '-c', CHILD], capture_output=True, text=True,
                           timeout=60)
    assert child.returncode == 0, child.stderr
    routed = json.loads(child.stdout)
    assert len(routed) == 10
    assert {path: action for path, action in routed.items()
            if action in (None, 'not_found', 'root')} == {}
