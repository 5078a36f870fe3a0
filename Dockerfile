# The portal's production image: web (gunicorn + whitenoise), worker and beat share it.
# The source is installed as a package (`pip install .`), and the image runs what was
# installed: nothing of the source tree is left in the working directory. .dockerignore keeps
# what is not the product (tests, benchmarks, the venv) out of the build context.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=things_portal.settings \
    THINGS_PORTAL_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    GUNICORN_TIMEOUT=30 \
    THINGS_PAGE_DEADLINE_SECONDS=8

WORKDIR /app
RUN useradd --create-home --uid 1000 portal

COPY . /src
RUN pip install /src && rm -rf /src

# collectstatic needs some SECRET_KEY to import settings; it is not used for anything else.
RUN SECRET_KEY=collectstatic-only python -m things_portal collectstatic --no-input \
    && mkdir -p /app/var && chown -R portal:portal /app/var

USER portal
EXPOSE 8000
CMD ["gunicorn", "-c", "python:things_portal.gunicorn_conf", "things_portal.wsgi"]
