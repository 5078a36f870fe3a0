# The portal's production image: web (gunicorn + whitenoise), worker and beat share it.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    THINGS_PORTAL_VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 1000 portal

COPY pyproject.toml README.md ./
COPY things_portal ./things_portal
COPY downlinks ./downlinks
COPY simulator ./simulator
RUN pip install .

COPY manage.py ./
COPY templates ./templates
COPY static ./static
COPY specs ./specs
# collectstatic needs some SECRET_KEY to import settings; it is not used for anything else.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input \
    && mkdir -p /app/var && chown -R portal:portal /app/var

USER portal
EXPOSE 8000
CMD ["gunicorn", "things_portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
