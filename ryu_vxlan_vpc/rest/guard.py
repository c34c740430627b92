"""WSGI middleware around every REST app of the process: undecodable input and crashes.

Ryu's stack (webob, routes, the handlers) decodes the path and query as UTF-8 on first use;
``GET /vxlan-vpc/%ff`` made that raise inside our error handler and reach the client as a
500 with a traceback. The guard refuses such requests up front with a 400, for every app
served (ofctl_rest included), and turns any exception an app lets out into a JSON 500 whose
body says nothing about the code; the traceback goes to the log only.
"""
import logging
import sys
import urllib.parse

from . import errors

LOG = logging.getLogger('ryu_vxlan_vpc.rest')

REASONS = {400: 'Bad Request', 500: 'Internal Server Error'}


def undecodable(environ):
    """Why the request's path or query is not UTF-8 text, or None.

    eventlet hands both over as "bytes in a str" (PEP 3333: latin-1): the path already
    %-decoded, the query raw. Everything is checked as the bytes the client sent.
    """
    try:
        environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
    except UnicodeError:
        return 'the request path is not UTF-8 (after %-decoding)'
    try:
        raw = environ.get('QUERY_STRING', '').encode('latin-1')
        urllib.parse.unquote_to_bytes(raw).decode('utf-8')
    except UnicodeError:
        return 'the query string is not UTF-8 (after %-decoding)'
    return None


def _reply(start_response, status, message, exc_info=None):
    payload = errors.body(status, message)
    start_response('%d %s' % (status, REASONS[status]),
                   [('Content-Type', errors.CONTENT_TYPE),
                    ('Content-Length', str(len(payload)))], exc_info)
    return [payload]


def _where(environ):
    """The request as the log shows it: repr of the raw bytes, which never fails to print."""
    return '%s %r' % (environ.get('REQUEST_METHOD'), environ.get('RAW_PATH_INFO', ''))


def guard(app):
    def guarded(environ, start_response):
        problem = undecodable(environ)
        if problem:
            return _reply(start_response, 400, problem)
        try:
            result = app(environ, start_response)
        except Exception:
            LOG.exception('REST %s failed', _where(environ))
            # exc_info lets us replace a status the app had already set; if the app had
            # written headers itself, start_response re-raises and eventlet (debug off)
            # closes the connection with an empty 500.
            return _reply(start_response, 500,
                          'internal error; the controller log has the details',
                          sys.exc_info())
        if isinstance(result, (list, tuple)):
            return result  # a whole body (webob's), with its Content-Length
        return _streamed(result, environ)
    return guarded


def _streamed(result, environ):
    """A streamed body (rest/stream.py), passed on as it is produced.

    An exception now comes after the status and headers went out: it is logged and raised
    again, so the server closes the connection without ending the chunked body. A client
    then sees an incomplete answer, never a short one that looks whole.
    """
    try:
        yield from result
    except Exception:
        LOG.exception('REST %s failed while sending its answer', _where(environ))
        raise
    finally:
        if hasattr(result, 'close'):
            result.close()
