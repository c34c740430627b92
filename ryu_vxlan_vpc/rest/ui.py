"""The live web page, /vxlan-vpc/ui/: four static files from the package, nothing else.

The page (``ryu_vxlan_vpc/ui/``) is plain HTML, CSS and JS that reads the REST API itself
every few seconds; this module only hands the files out. A request names a file only
through the fixed ``ASSETS`` table: its name is looked up, never joined to a path, so no
part of a URL reaches the filesystem. Every answer says ``Cache-Control: no-cache`` (an
upgraded package is picked up on the next load) and carries a Content-Security-Policy
that allows only this origin: the page fetches nothing from elsewhere, runs no inline
script or style, and the policy makes sure an injected one would not run either.
"""
from importlib import resources

from ryu.app.wsgi import ControllerBase, route
from webob import Response

from .api import PREFIX, RestError, handles_errors

UI = PREFIX + '/ui'
# request name -> (file in ryu_vxlan_vpc/ui/, Content-Type). '' is the page itself.
ASSETS = {
    '': ('index.html', 'text/html'),
    'app.js': ('app.js', 'text/javascript'),
    'style.css': ('style.css', 'text/css'),
    'icon.svg': ('icon.svg', 'image/svg+xml'),   # else the browser asks for /favicon.ico
}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'self'")
HEADERS = {
    'Cache-Control': 'no-cache',
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
}


def asset(name):
    """(bytes, content type) of the allow-listed file ``name``; KeyError for any other."""
    filename, ctype = ASSETS[name]
    return resources.files('ryu_vxlan_vpc').joinpath('ui', filename).read_bytes(), ctype


def _answer(name):
    try:
        body, ctype = asset(name)
    except KeyError:
        raise RestError(404, 'no such file %s/%s (the page is %s/)' % (UI, name, UI))
    resp = Response(body=body, content_type=ctype, charset='utf-8')
    resp.headers.update(HEADERS)
    return resp


class WebPage(ControllerBase):
    """Registered before api.NotFound, which answers everything else under /vxlan-vpc/."""

    @route('vxlan_vpc_ui_bare', UI, methods=['GET'])
    @handles_errors
    def bare(self, req, **_):
        # Relative links in the page (app.js, ../switches) need the trailing slash.
        resp = Response(status=301, location=UI + '/')
        resp.headers.update(HEADERS)
        return resp

    @route('vxlan_vpc_ui_page', UI + '/', methods=['GET'])
    @handles_errors
    def page(self, req, **_):
        return _answer('')

    @route('vxlan_vpc_ui_file', UI + '/{name}', methods=['GET'])
    @handles_errors
    def file(self, req, name, **_):
        return _answer(name)
