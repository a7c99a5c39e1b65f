"""Observability: Prometheus metrics (multi-process), structured JSON logs with a request id, readiness and liveness.

* ``context.py``   the request id (from X-Request-Id or made here) and the log fields of the work in hand
* ``logs.py``      the text and JSON log formats, configured once per process
* ``metrics.py``   the metric objects, written by every process into one folder per host (multi-process mode)
* ``readings.py``  values read at scrape time (queue depths, event lag, search backlog): never stored in files
* ``exposition.py`` the /metrics text, and the small server on XINFANG_METRICS_PORT
* ``requests.py``  per request: id, counters, latency, one access line
* ``tasks.py``     Celery: the request id rides in the task's headers; per task: counters, latency, one line
* ``plugin.py``    hook implementations (the token-protected /metrics route, the platform's own readings)
"""
