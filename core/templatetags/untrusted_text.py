"""`{{ value|untrusted }}`: text from people or the Things API, shown as it is, not as it draws.

The value is always escaped, even if something marked it safe: it is text, never markup.
"""

from django import template
from django.utils.safestring import SafeString

from core.visible_text import isolated_html

register = template.Library()


@register.filter
def untrusted(value: object) -> SafeString:
    """The value with its bidi controls and invisible characters made visible (`⟨U+202E⟩`),
    escaped, in a `<bdi>` so it cannot reorder the words around it; None shows as nothing."""
    return SafeString(isolated_html("" if value is None else str(value)))
