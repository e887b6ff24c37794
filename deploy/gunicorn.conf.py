"""gunicorn settings for the web door; every value can be overridden from the environment."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Requests are mostly Python work: a worker per core and one more (the database shares the
# machine). More workers than that only queue on the cores (see the load benchmark).
workers = int(os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) + 1)))
worker_class = "sync"
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(
    os.environ.get("WEB_GRACEFUL_TIMEOUT", "20")
)  # SIGTERM: finish requests in flight
keepalive = 5
# Recycle workers now and then (a hedge against leaks); rarely, since a fresh worker spends
# its first second importing and compiling templates while its requests wait.
max_requests = 10000
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
access_log_format = '{"at":"%(t)s","method":"%(m)s","path":"%(U)s","status":%(s)s,"ms":%(M)s}'
# No query strings in the access log: filters can carry references.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
