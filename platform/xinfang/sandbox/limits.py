"""What one render of an untrusted template may use, and how a render over it is refused."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    seconds: float = 2.0  # wall time of one render inside the worker; it is killed a little after
    output_chars: int = 64 * 1024  # an official document is a few pages: a few thousand characters
    source_chars: int = 64 * 1024  # the bundle schema allows 20,000; this guards every other way in
    memory_bytes: int = 768 * 1024 * 1024  # address space of a worker process (a memory bomb fails inside it)


DEFAULT_BUDGET = Budget()

# Inside the sandbox: range() longer than this is refused, and so is a string or list
# repeated (``*``) into more than REPEAT_CAP items or a power with a huge result.
RANGE_CAP = 1000
REPEAT_CAP = 100_000
POWER_EXPONENT_CAP = 256


class TemplateRefused(Exception):
    """A template that cannot be rendered within its budget or breaks while rendering.

    ``kind`` says why: ``too_long`` (source), ``syntax``, ``forbidden`` (include/import/
    extends, an oversized range, unsafe access), ``runtime`` (IndexError, ZeroDivisionError,
    RecursionError, ...), ``timeout``, ``output`` (too much output), ``crashed`` (the
    worker died), ``busy`` (no worker free in time). ``detail`` is the English detail
    from Jinja or Python; ``lineno`` the template line where known.
    """

    def __init__(self, kind: str, detail: str = "", lineno: int | None = None):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.detail, self.lineno = kind, detail, lineno
