"""The multi-node lab: ``topology`` (pure planning), ``lab`` (up/status/down), ``command``."""
