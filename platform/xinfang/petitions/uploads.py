"""Request bodies with attachments: JSON, or multipart with a ``payload`` JSON field and ``files``.

Files are checked by what they are (magic bytes), not by what they claim to be.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError
from quart import Response, request

from ..errors import InvalidInput, NotFound
from ..http import loads_untrusted, parse_body, validation_fields
from .service import Upload

M = TypeVar("M", bound=BaseModel)

MAX_FILES = 5
MAX_FILE_BYTES = 5 * 1024 * 1024
# magic prefix -> content type we store and serve
ALLOWED_TYPES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
ALLOWED_NAMES = "PDF, JPEG, PNG"


MAX_FILENAME_CHARS = 120


def safe_filename(name: str | None) -> str:
    """A file name fit to keep and to send back: no control or invisible formatting characters
    (CR/LF would break the download's header; U+202E would disguise the extension), no folders,
    NFC-normalised, at most MAX_FILENAME_CHARS characters with the extension kept."""
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c for c in text)
    text = " ".join(text.replace("\\", "/").rsplit("/", 1)[-1].split()).strip(" .")
    if len(text) > MAX_FILENAME_CHARS:
        stem, dot, extension = text.rpartition(".")
        keep = extension if dot and stem and len(extension) <= 10 else ""
        text = text[: MAX_FILENAME_CHARS - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return text or "attachment"


def content_disposition(name: str | None) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the real name as RFC 5987
    ``filename*`` (RFC 6266); safe for any stored name, including ones kept before names were cleaned."""
    clean = safe_filename(name)
    ascii_name = "".join(c if " " <= c <= "~" and c not in '"\\;%' else "_" for c in clean)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean, safe='')}"


def sniff(data: bytes) -> str | None:
    for magic, content_type in ALLOWED_TYPES.items():
        if data.startswith(magic):
            return content_type
    return None


UNREADABLE_NAME = {
    "zh": "有一个附件的文件名无法识别（含有换行等特殊字符），未能收到：请把文件改名后重新选择",
    "en": "an attachment's file name could not be read (it holds a line break or a similar character), so it was not "
          "received: rename the file and choose it again",
}


async def request_uploads(field: str = "files", form_fields: Sequence[str] = ()) -> list[Upload]:
    """The request's files in ``field`` and in the form's own file fields ``form_fields``, checked (``check_files``).

    A part whose header the multipart parser could not read as a file (a file name with a bare CR,
    say) arrives as a text field of the same name: refused with a message, never dropped in silence.
    A form's own file field keeps its text value (the name of a file sent on an earlier page), so only
    ``field`` is checked for that. A refused file of a form field is named at that field.
    """
    form = await request.form
    if form.getlist(field):
        raise InvalidInput({"zh": "附件不符合要求", "en": "attachments refused"}, fields={field: UNREADABLE_NAME})
    files = await request.files
    uploads = check_files(files.getlist(field))
    for name in form_fields:
        try:
            uploads += check_files(files.getlist(name)[:1])
        except InvalidInput as refused:
            raise InvalidInput(refused.message, fields={name: next(iter(refused.fields.values()))}) from None
    return uploads


def check_files(files) -> list[Upload]:
    """FileStorage objects -> Uploads, or a 422 naming each refused file."""
    uploads: list[Upload] = []
    problems = {}
    present = [f for f in files if f and f.filename]
    if len(present) > MAX_FILES:
        problems["files"] = {"zh": f"最多上传 {MAX_FILES} 个附件", "en": f"at most {MAX_FILES} attachments"}
    for index, storage in enumerate(present[:MAX_FILES]):
        data = storage.read(MAX_FILE_BYTES + 1)
        key = f"files.{index}"
        if len(data) > MAX_FILE_BYTES:
            problems[key] = {"zh": f"{storage.filename}：超过 5 MB", "en": f"{storage.filename}: larger than 5 MB"}
            continue
        content_type = sniff(data)
        if content_type is None:
            problems[key] = {"zh": f"{storage.filename}：只接受 {ALLOWED_NAMES} 文件", "en": f"{storage.filename}: only {ALLOWED_NAMES} files are accepted"}
            continue
        uploads.append(Upload(filename=safe_filename(storage.filename), content_type=content_type, data=data))
    if problems:
        raise InvalidInput({"zh": "附件不符合要求", "en": "attachments refused"}, fields=problems)
    return uploads


async def read_uploads(model: type[M]) -> tuple[M, list[Upload]]:
    if not (request.mimetype or "").startswith("multipart/"):
        return await parse_body(model), []
    form = await request.form
    payload = loads_untrusted(form.get("payload", ""))
    if not isinstance(payload, dict):
        raise InvalidInput(fields={"payload": {"zh": "payload 应为 JSON 对象", "en": "payload must be a JSON object"}})
    try:
        body = model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(fields=validation_fields(exc)) from None
    except RecursionError:
        raise InvalidInput(fields={"payload": {"zh": "payload 嵌套过深", "en": "payload is nested too deeply"}}) from None
    return body, await request_uploads()


def attachment_download(attachment) -> Response:
    """A stored attachment as a download under its real name, never sniffed into something else; 404 for None."""
    if attachment is None:
        raise NotFound()
    return Response(attachment.data, content_type=attachment.content_type,
                    headers={"Content-Disposition": content_disposition(attachment.filename), "X-Content-Type-Options": "nosniff"})
