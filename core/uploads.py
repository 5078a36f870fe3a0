"""An uploaded file read as text for a form field."""

from django import forms
from django.core.files.uploadedfile import UploadedFile


def uploaded_text(upload: UploadedFile[bytes] | None, what: str, *, max_bytes: int) -> str:
    """The file as text (UTF-8, a byte order mark allowed; "" without one); ValidationError
    in words, naming the file as `what`."""
    if upload is None:
        return ""
    if upload.size is not None and upload.size > max_bytes:
        raise forms.ValidationError(
            f"The {what} is {upload.size:,} bytes; at most {max_bytes:,} are taken."
        )
    try:
        content: bytes = upload.read()
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError(f"The {what} is not UTF-8 text.") from None
