"""The CLI's answers to a wrong --url: a usage error, or a server that is not our API.

A throwaway HTTP server on 127.0.0.1 (port chosen by the kernel) stands in for "some other
web server"; the CLI runs in-process through its real entry point.
"""
import http.server
import threading

import pytest

from ryu_vxlan_vpc import cli


class _NotOurApi(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'<html>hello</html>'
        self.send_response(200)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_server():
    server = http.server.HTTPServer(('127.0.0.1', 0), _NotOurApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize('command', ['macs', 'vpcs', 'switches'])
def test_an_answer_that_is_not_our_json_is_a_clear_error(other_server, command, capsys):
    assert cli.main([command, '--url', other_server]) == 2
    err = capsys.readouterr().err
    assert 'is not this API\'s JSON' in err and other_server in err and 'Traceback' not in err


@pytest.mark.parametrize('url', ['localhost:8080', 'ftp://127.0.0.1:8080', 'http://'])
def test_a_url_that_is_not_http_is_a_usage_error(url, capsys):
    assert cli.main(['flows', '--url', url]) == 2
    assert "--url '%s': not an http:// or https:// URL" % url in capsys.readouterr().err
