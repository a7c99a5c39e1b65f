"""The beat scheduler of the platform: Celery's persistent scheduler behind the one-beat lock (``beat_lock``)."""

from __future__ import annotations

import logging
import time

from celery.beat import PersistentScheduler

from .beat_lock import ANOTHER_BEAT_EXIT, AnotherBeatRunning, acquire_beat_lock, held_lock_fd, write_beat_record

log = logging.getLogger(__name__)


class SingleBeatScheduler(PersistentScheduler):
    """Celery's persistent scheduler, refusing to run while another beat holds the lock."""

    def __init__(self, *args, **kwargs):
        app = kwargs.get("app") or args[0]
        try:
            acquire_beat_lock(app.xinfang_settings.data_dir)
        except AnotherBeatRunning as exc:
            log.error("%s / %s", exc.message["zh"], exc.message["en"])
            raise SystemExit(ANOTHER_BEAT_EXIT) from None
        self._lock_fd = held_lock_fd(app.xinfang_settings.data_dir)
        self._started = time.time()
        super().__init__(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        write_beat_record(self._lock_fd, started=self._started, sent=time.time())  # sent: the beat is alive and working
        return result
