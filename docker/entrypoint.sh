#!/bin/sh
# The container's entrypoint: `serve` (the default) migrates then execs gunicorn; `migrate` only
# migrates (the one-off ECS task); `flask ARGS…` runs an ops command; anything else is exec'd.
set -eu

# On ECS the database arrives as fields of the Secrets Manager secret (DB_HOST, DB_PORT, DB_NAME,
# DB_USER, DB_PASSWORD), never as one URL in plain text; build DATABASE_URL from them, quoting the
# password, unless a DATABASE_URL was given.
if [ -z "${DATABASE_URL:-}" ] && [ -n "${DB_HOST:-}" ]; then
    DATABASE_URL="$(python -c '
import os
from urllib.parse import quote

env = os.environ.get
user, password = quote(env("DB_USER", "postgres"), safe=""), env("DB_PASSWORD", "")
auth = user + ":" + quote(password, safe="") if password else user
name = quote(env("DB_NAME", "postgres"), safe="")
print("postgresql://%s@%s:%s/%s" % (auth, env("DB_HOST"), env("DB_PORT", "5432"), name))
')"
    export DATABASE_URL
fi

migrate() {
    # Under a Postgres advisory lock (tasks starting together migrate once), retrying while the
    # database comes up.
    flask --app app:create_app db upgrade --wait "${DB_WAIT_SECONDS:-60}"
    # Models for the provider keys this task has (and the offline demo unless DEMO_MODEL=off).
    flask --app app:create_app models seed
}

command="${1:-serve}"
case "$command" in
    serve)
        # MIGRATE_ON_START=false leaves migrations to the one-off `migrate` task.
        if [ "${MIGRATE_ON_START:-true}" != "false" ]; then
            migrate
        fi
        exec gunicorn -c gunicorn.conf.py wsgi:app
        ;;
    migrate)
        migrate
        ;;
    flask)
        shift
        exec flask --app app:create_app "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
