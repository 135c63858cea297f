# syntax=docker/dockerfile:1
# Assistant Architect: one image for the web service and its one-off tasks (migrate, flask …).
# tests/infra/test_image_recipe.py replays this recipe (its pip commands and the files the final
# stage copies) in a fresh venv, since Docker cannot run where the tests run: keep it parseable —
# one command per RUN line, paths absolute.

# ---- builder: compilers, and wheels for every dependency -----------------------------------------
FROM python:3.11-slim AS builder
# Compilers only matter when a dependency has no wheel for this platform; they never reach the
# final image.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Only pyproject.toml: the dependency layer is rebuilt when dependencies change, not on every edit.
COPY pyproject.toml ./
# The app's code is copied as files (it finds templates/ and migrations/ beside app/), so the
# wheels are the dependencies only, not the project itself.
RUN mkdir -p /wheels && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /wheels/requirements.txt
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels -r /wheels/requirements.txt

# ---- final: slim Python, the wheels, the app, a non-root user ------------------------------------
FROM python:3.11-slim
ENV APP_ENV=production \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    LITELLM_OFFLINE_MODE=true \
    HF_HUB_OFFLINE=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# The wheels are bind-mounted from the builder, so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels pip install --no-cache-dir --no-index --find-links /wheels -r /wheels/requirements.txt
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
# Owned by root and read-only for the app user: the running service cannot change its own code.
COPY app/ ./app/
COPY templates/ ./templates/
COPY static/ ./static/
COPY migrations/ ./migrations/
COPY wsgi.py gunicorn.conf.py ./
COPY --chmod=0755 docker/entrypoint.sh ./docker/entrypoint.sh
USER 10001:10001
EXPOSE 8000
# slim has no curl: the standard library asks /healthz (which never touches the database).
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["serve"]
