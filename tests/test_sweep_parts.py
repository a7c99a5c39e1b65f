"""The beat's sweep: each plugin's part runs on its own, and an unreachable store is one log line, not a traceback."""

from __future__ import annotations

import logging
import types

import pluggy
import pytest
from pymongo.errors import AutoReconnect

from xinfang import dispatch, hookspecs
from xinfang.hookspecs import hookimpl


class Recorder:
    def __init__(self):
        self.ran = 0

    @hookimpl
    async def xinfang_sweep(self, now, runtime):
        self.ran += 1


class Broken:
    @hookimpl(tryfirst=True)
    async def xinfang_sweep(self, now, runtime):
        raise ValueError("a broken sweep part")


class StoreGone:
    @hookimpl(tryfirst=True)
    async def xinfang_sweep(self, now, runtime):
        raise AutoReconnect("connection refused")


def _runtime(*plugins):
    pm = pluggy.PluginManager("xinfang")
    pm.add_hookspecs(hookspecs)
    for plugin in plugins:
        pm.register(plugin)
    return types.SimpleNamespace(pm=pm)


async def test_a_failing_part_does_not_hold_back_the_others(caplog):
    recorder = Recorder()
    with pytest.raises(RuntimeError, match="1 sweep part"):  # the task still fails, so Celery reports it
        await dispatch.sweep(_runtime(Broken(), recorder))
    assert recorder.ran == 1
    assert "a broken sweep part" in caplog.text


async def test_an_unreachable_store_is_one_line_and_the_sweep_stops(caplog, recwarn):
    recorder = Recorder()
    with caplog.at_level(logging.WARNING, logger="xinfang.dispatch"):
        await dispatch.sweep(_runtime(StoreGone(), recorder))
    lines = [r for r in caplog.records if r.name == "xinfang.dispatch"]
    assert len(lines) == 1 and lines[0].exc_info is None and "AutoReconnect" in lines[0].getMessage()
    assert recorder.ran == 0  # later parts would only meet the same closed door
    assert not [w for w in recwarn if "never awaited" in str(w.message)]
