"""The one error body of the REST server, whichever layer answers: ``{"error": ..., "status": N}``.

Used by the handlers (api), the WSGI guard and the HTTP layer (server), so a client parses
every 4xx/5xx the same way, including those sent before a request reaches Ryu's routes.
"""
import json

CONTENT_TYPE = 'application/json'


def body(status, message):
    return json.dumps({'error': message, 'status': status}, indent=1,
                      sort_keys=True).encode() + b'\n'
