"""gunicorn for production and for the e2e suite: gevent workers, streams that may live long."""

import os
import shutil
import tempfile

# prometheus-client's multiprocess mode: set before any worker imports it; emptied at start.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"aa-metrics-{os.getpid()}")
)

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "1000"))
# gevent workers notify the arbiter from their own loop, so a long stream does not trip this.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
# Above the load balancer's idle timeout (the ALB keeps streams 1000 s): it closes first, no 502s.
keepalive = int(os.environ.get("KEEPALIVE", "1005"))
control_socket_disable = True  # several servers on one machine must not collide
accesslog = os.environ.get("ACCESS_LOG", "-")
# One JSON line per request, found by the same CloudWatch filter as the app's own logs.
access_log_format = (
    '{"time": "%(t)s", "level": "INFO", "component": "assistant-architect", '
    '"event": "http.request", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, '
    '"ms": %(M)s, "bytes": "%(B)s", "request_id": "%({x-request-id}o)s", "ip": "%(h)s"}'
)
errorlog = "-"
# gunicorn's own lines as JSON too (the access format above is already JSON: printed as is).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "message": "event"},
            "static_fields": {"component": "assistant-architect"},
        },
        "raw": {"format": "%(message)s"},
    },
    "handlers": {
        "error": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "raw",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()


def post_worker_init(worker):
    """On SIGTERM, hand runs back and close streams first, then let gunicorn finish (DESIGN §8).

    Also: the app is loaded now — litellm alone brings ~400,000 long-lived objects. Frozen, the
    collector stops walking them at every full collection, each of which holds the whole worker
    (every stream, every run): under load a full collection took up to 340 ms (GC_FREEZE=0 turns
    this off; bench/streaming.py and docs/PERFORMANCE.md measure both)."""
    import gc
    import signal

    if os.environ.get("GC_FREEZE", "1") != "0":
        gc.collect()
        gc.freeze()

    gunicorn_exit = worker.handle_exit

    def handle_exit(sig, frame):
        from app.lifecycle import begin_shutdown

        begin_shutdown()
        gunicorn_exit(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def worker_exit(server, worker):
    from app.lifecycle import finish_shutdown

    finish_shutdown()


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
