"""Gunicorn settings for `interlude web`: gunicorn -c service/gunicorn_conf.py 'service.web:create_app()'.

Threaded workers keep Twilio's and the proxy's connections open (keep-alive) and overlap one
request's database round trips with another's; the app is not preloaded, so each worker opens
its own database pool after the fork (a pool shared across a fork would mix two processes'
traffic on one connection). Override any of these on the command line (-w, -b, --threads).
"""

import os

bind = os.environ.get("INTERLUDE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("INTERLUDE_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("INTERLUDE_WEB_THREADS", "4"))
keepalive = 5
timeout = 30
graceful_timeout = 10
preload_app = False
accesslog = None  # the reverse proxy logs requests; the app logs ids and reason codes only
