"""Tenant-written templates, rendered where they cannot stall or harm the web process.

A tenant admin's document template is untrusted code. It runs in Jinja's sandbox
(``environment.py``) inside a small pool of separate worker processes
(``pool.py`` in the caller, ``worker.py`` in the child), each render under a hard
budget (``limits.py``): a time limit after which the worker is killed and replaced,
an output limit, a source-size limit and caps on ``range`` and repetition. The
web process's event loop only ever awaits the answer.

Importing this package does no work: the pool starts on the first render.
"""
