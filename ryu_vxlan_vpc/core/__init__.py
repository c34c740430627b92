"""The controller's decisions, free of Ryu: which switch is br-tun, when it needs a sync,
what a sync sends (``switches``), what the node's intent is (``intent``) and which OVSDB
changes bring its tunnels and VM ports there (``ports``). ``app.py`` adapts Ryu to it."""
