"""The single-machine broker (kombu's filesystem transport): a message is seen whole or not at all.

A worker once died on ``JSONDecodeError`` reading a message file another process had not finished writing; the
platform's transport writes each message under a hidden name and renames it into place."""

from __future__ import annotations

import os

import pytest
from kombu.transport.filesystem import Channel as KombuChannel

from xinfang.embedded_broker import Transport
from xinfang.settings import Settings
from xinfang.worker import make_celery


@pytest.fixture
def celery_app(tmp_path):
    return make_celery(Settings(data_dir=tmp_path)), Settings(data_dir=tmp_path).broker_folder / "queue"


def test_the_embedded_broker_uses_the_whole_message_transport(celery_app):
    app, _ = celery_app
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)


def test_a_message_being_written_is_not_taken_and_a_whole_one_is(celery_app, monkeypatch):
    app, queue_folder = celery_app
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue("whole-messages")
        # A message caught mid-write, as kombu's own transport would leave it in view: a hidden part file is skipped.
        (queue_folder / ".1_x.whole-messages.msg.part").write_bytes(b'{"body": "hal')
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.3)
        # While a message is written, no file with the name consumers take exists yet.
        seen_while_writing: list[list[str]] = []
        real_replace = os.replace

        def replace_and_look(src, dst):
            seen_while_writing.append([n for n in os.listdir(queue_folder) if n.endswith(".msg")])
            return real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace_and_look)
        queue.put({"n": 1})
        assert seen_while_writing == [[]]
        message = queue.get(timeout=2)
        assert message.payload == {"n": 1}
        message.ack()
        queue.close()
    assert issubclass(Transport.Channel, KombuChannel)
