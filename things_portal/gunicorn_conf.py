"""gunicorn's settings for the web container: `gunicorn -c python:things_portal.gunicorn_conf`.

The worker timeout is set here, explicitly, and the portal's own deadline for the Things API
(THINGS_PAGE_DEADLINE_SECONDS) stays well inside it: a hanging API gives the person a banner
in words, not a worker killed mid-request and a bare 500. Threads let one node keep serving
(and answering /healthz) while some requests wait on the API.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
accesslog = "-"
