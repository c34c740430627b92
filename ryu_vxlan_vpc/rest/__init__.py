"""REST API under /vxlan-vpc/: views.py builds the JSON (pure), api.py serves it (WSGI)."""
