"""The wire between the web process and a template worker: length-prefixed JSON frames over pipes."""

from __future__ import annotations

import json
import os
import selectors
import struct
import time
from typing import BinaryIO

_HEADER = struct.Struct(">I")


class FrameTimeout(Exception):
    """No whole frame before the deadline."""


class FrameTooLarge(Exception):
    """The other side announced more than the reader accepts."""


def encode_frame(message: dict) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8", "replace")
    return _HEADER.pack(len(body)) + body


def write_frame(stream: BinaryIO, message: dict) -> None:
    stream.write(encode_frame(message))
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(stream: BinaryIO) -> dict | None:
    """Blocking read of one frame (the worker's side); None when the other side closed the pipe."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    body = _read_exactly(stream, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


def read_frame_until(fd: int, deadline: float, max_bytes: int) -> dict:
    """One frame from a pipe by a monotonic deadline (the web process's side).

    Raises FrameTimeout, FrameTooLarge, or EOFError when the worker died.
    """
    buffer = bytearray()
    wanted = _HEADER.size
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(buffer) < wanted:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise FrameTimeout()
            chunk = os.read(fd, min(1 << 20, wanted - len(buffer)))
            if not chunk:
                raise EOFError("the template worker closed its pipe")
            buffer += chunk
            if wanted == _HEADER.size and len(buffer) == _HEADER.size:
                size = _HEADER.unpack(bytes(buffer))[0]
                if size > max_bytes:
                    raise FrameTooLarge()
                wanted += size
    return json.loads(bytes(buffer[_HEADER.size:]))
