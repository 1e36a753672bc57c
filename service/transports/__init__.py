"""Transports send one message over one channel; policy lives in the services."""
