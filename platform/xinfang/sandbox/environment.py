"""The Jinja sandbox tenant templates run in (inside a worker process, never the web process).

On top of Jinja's ``SandboxedEnvironment`` (no private or internal attributes, no
unsafe callables), templates here cannot reach other templates (no loader;
include, import and extends are refused before anything runs), ``range`` is
capped, repeating a string or list and raising to a power are capped, ``lipsum``
is gone, and the output is counted while it is produced so a template stops as
soon as it says too much. Time and memory are the worker's hard limits.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import BaseLoader, TemplateNotFound, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace

from .limits import POWER_EXPONENT_CAP, RANGE_CAP, REPEAT_CAP, TemplateRefused

_OTHER_TEMPLATES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
_NO_OTHER_TEMPLATES = "a document template cannot include, import or extend other templates"


class _NoOtherTemplates(BaseLoader):
    """Backs the refusal up at run time: there is nothing to load."""

    def get_source(self, environment, template):
        raise TemplateNotFound(template, _NO_OTHER_TEMPLATES)


def capped_range(*args: int) -> range:
    """``range`` as Jinja's sandbox has it, refused above RANGE_CAP items (nested loops multiply)."""
    numbers = range(*args)
    if len(numbers) > RANGE_CAP:
        raise SecurityError(f"range() of {len(numbers)} items; at most {RANGE_CAP} are allowed")
    return numbers


class DocumentSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, loader=_NoOtherTemplates(), cache_size=0)
        # Jinja's defaults less lipsum (arbitrary amounts of text) and with a capped range.
        self.globals = {"range": capped_range, "dict": dict, "namespace": Namespace, "cycler": Cycler, "joiner": Joiner}

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) and len(sequence) * times > REPEAT_CAP:
                    raise SecurityError(f"repeating a value into {len(sequence) * times} items; at most {REPEAT_CAP} are allowed")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > POWER_EXPONENT_CAP:
            raise SecurityError(f"an exponent of {right}; at most {POWER_EXPONENT_CAP} is allowed")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=1)
def document_sandbox() -> DocumentSandbox:
    return DocumentSandbox()


@lru_cache(maxsize=64)  # a worker sees the same few templates again and again
def _compiled(source: str):
    environment = document_sandbox()
    tree = environment.parse(source)
    for node in tree.find_all(_OTHER_TEMPLATES):
        raise TemplateRefused("forbidden", _NO_OTHER_TEMPLATES, node.lineno)
    return environment.from_string(tree)


def template_line(error: BaseException) -> int | None:
    """The template line an error was raised on: Jinja rewrites tracebacks to point into '<template>'."""
    line = getattr(error, "lineno", None)
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def render_capped(source: str, context: dict, max_output: int) -> str:
    """Compile and render, stopping at ``max_output`` characters. Raises TemplateRefused, Jinja's errors,
    or whatever the template makes Python raise (the worker sorts them out)."""
    parts: list[str] = []
    size = 0
    for chunk in _compiled(source).generate(context):
        size += len(chunk)
        if size > max_output:
            raise TemplateRefused("output", f"more than {max_output} characters of output")
        parts.append(chunk)
    # A lone surrogate ("\ud800" in a string literal) cannot be sent as UTF-8 or served: replaced.
    return "".join(parts).encode("utf-8", "replace").decode("utf-8")

