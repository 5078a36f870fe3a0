"""WSGI entry point (gunicorn things_portal.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from things_portal.request_encoding import refuse_unreadable_content_type

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "things_portal.settings")

# A Content-Type Django cannot parse fails while the request is built, before middleware.
application = refuse_unreadable_content_type(get_wsgi_application())
