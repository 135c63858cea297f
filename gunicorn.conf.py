"""gunicorn for production and for the e2e suite: gevent workers, streams that may live long."""

import os

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
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()


def post_worker_init(worker):
    """On SIGTERM, hand runs back and close streams first, then let gunicorn finish (DESIGN §8)."""
    import signal

    gunicorn_exit = worker.handle_exit

    def handle_exit(sig, frame):
        from app.lifecycle import begin_shutdown

        begin_shutdown()
        gunicorn_exit(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def worker_exit(server, worker):
    from app.lifecycle import finish_shutdown

    finish_shutdown()
