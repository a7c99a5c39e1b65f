"""The embedded store process: durable acknowledged writes, clean stop, clear errors."""

import os
import signal

import pytest
from pymongo import MongoClient

from xinfang.store.embedded import EmbeddedStore, EmbeddedStoreError, port_is_open
from tests.conftest import free_port


def test_acknowledged_writes_survive_kill_9(tmp_path):
    port = free_port()
    store = EmbeddedStore(tmp_path, port).start()
    client = MongoClient(store.uri, w="majority", journal=True)
    client.xinfang.petitions_probe.insert_many([{"n": i, "text": "信访件"} for i in range(200)])
    client.close()
    os.kill(store.process.pid, signal.SIGKILL)
    store.process.wait()
    store.process = None

    store = EmbeddedStore(tmp_path, port).start()
    try:
        client = MongoClient(store.uri)
        assert client.xinfang.petitions_probe.count_documents({}) == 200
        assert client.xinfang.petitions_probe.find_one({"n": 199})["text"] == "信访件"
        client.close()
    finally:
        store.stop()
    assert not port_is_open("127.0.0.1", port)
    assert not (tmp_path / "nx-27017.pid").exists()


def test_a_taken_port_is_a_clear_error(tmp_path):
    store = EmbeddedStore(tmp_path / "one", free_port()).start()
    try:
        with pytest.raises(EmbeddedStoreError, match="XINFANG_EMBEDDED_STORE_PORT"):
            EmbeddedStore(tmp_path / "two", store.port).start()
    finally:
        store.stop()
