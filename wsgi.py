"""The WSGI entry point: `flask --app wsgi ...` and `gunicorn wsgi:app`."""

import gc

from resolution import create_app

app = create_app()
# Everything built so far (modules, mappers, definitions, calendars, templates' loaders)
# lives as long as the process: move it out of the collector's generations, so that its
# collections scan only what requests make. Measured: a tenth to a sixth off the
# lifecycle benchmark's service time.
gc.freeze()
