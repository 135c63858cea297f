# syntax=docker/dockerfile:1
# Assistant Architect: one image for the web service and its one-off tasks (migrate, flask …).
# tests/infra/test_image_recipe.py replays this recipe in temporary directories, since Docker
# cannot run where the tests run: keep it parseable — one command per RUN, absolute paths.

# ---- builder: compilers and uv build the virtualenv ---------------------------------------------
FROM python:3.11-slim AS builder
# Compilers matter only when a dependency has no wheel for this platform; they stay in this stage.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev && rm -rf /var/lib/apt/lists/*
# uv installs and byte-compiles the dependencies in parallel (pip took ~4× as long here).
RUN python -m pip install --no-cache-dir uv==0.13.8
ENV UV_PYTHON_DOWNLOADS=never
WORKDIR /build
# Only pyproject.toml: the dependency layer is rebuilt when dependencies change, not on every edit.
COPY pyproject.toml ./
# The app is copied as files (it finds templates/ and migrations/ beside app/), so the virtualenv
# holds the dependencies only, not the project.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt
# Relocatable: its scripts find their interpreter relative to themselves.
RUN uv venv --relocatable --python /usr/local/bin/python3.11 /opt/venv
# Byte-compiled here because the app user cannot write .pyc files next to root-owned sources.
RUN --mount=type=cache,target=/root/.cache/uv uv pip install --link-mode=copy --compile-bytecode --python /opt/venv/bin/python -r requirements.txt

# ---- final: slim Python, the virtualenv, the app, a non-root user -------------------------------
FROM python:3.11-slim
ENV APP_ENV=production \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    LITELLM_OFFLINE_MODE=true \
    HF_HUB_OFFLINE=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
# Installed packages only: no compiler, no uv, no build cache.
COPY --from=builder /opt/venv /opt/venv
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
