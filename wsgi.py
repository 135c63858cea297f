"""The WSGI entry point: gevent patches the standard library before anything else is imported."""

from gevent import monkey

monkey.patch_all()

from psycogreen.gevent import patch_psycopg  # noqa: E402

patch_psycopg()  # psycopg2 waits cooperatively (gunicorn's post_fork does it again, harmlessly)

from app import create_app  # noqa: E402
from app.lifecycle import start_background  # noqa: E402

app = create_app()
start_background(app)  # the runner pool of this process (one per gunicorn worker)
