"""Untrusted text with its invisible characters made visible, so it shows what it holds.

Device ids, topics, payloads, problem details and audit labels come from people and from the
Things API. A bidi control in one of them reorders what is drawn (the topic `abc\\u202egnp.exe`
shows as "abcexe.png", and the override runs on into the text after it) and a zero-width
character makes two different ids look the same. Each such character is shown as its code
point instead, `⟨U+202E⟩`, and the HTML form is wrapped in `<bdi>` so that what remains (a
Hebrew or Arabic topic, say) cannot reorder the words around it either.

Plain Python, no Django and no app: the pages, the list's row renderer and the audit CSV use
the same rule.
"""

import unicodedata
from html import escape

# Format characters (Cf) that are drawn: a sign spanning the digits after it, in ordinary
# Arabic, Syriac and Kaithi text (Unicode's Prepended_Concatenation_Mark property).
_DRAWN_FORMAT_CHARACTERS = frozenset(
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"
)
_LAYOUT_CONTROLS = frozenset("\t\n\r")


def _is_hidden(char: str) -> bool:
    """Whether `char` is one a reader cannot see, or that changes how others are drawn.

    - Every format character (category Cf) but the drawn ones above: by Unicode's definition
      they have no glyph of their own and only steer layout. That is all the bidi controls
      (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), the zero-width space and
      joiners (U+200B to U+200D), the word joiner and invisible operators (U+2060 to U+2064),
      the BOM (U+FEFF), the soft hyphen (U+00AD), and also the tag characters (U+E0000 block),
      which can carry a whole hidden message. Taking the category rather than a list keeps up
      with new Unicode versions.
    - Control characters (Cc) but tab, line feed and carriage return: invisible on a page,
      and ESC starts a terminal escape sequence when a CSV is read in a terminal.
    - Lone surrogates (Cs): invisible too, and not encodable as UTF-8, so a page with one
      could not be sent at all.

    The price: joiners that do real work show too, in emoji sequences (a family is 👨, U+200D,
    👩, ...) and in Persian or Indic words, as do the tags of subdivision flags. Where the exact
    characters of an id or topic matter, seeing them is worth more than the prettier form.
    Emoji themselves, their variation selectors (U+FE0F, category Mn) and skin tones (Sk),
    Hebrew and Arabic letters, and spaces of any width (Zs, drawn as space) stay as they are.
    """
    category = unicodedata.category(char)
    if category == "Cf":
        return char not in _DRAWN_FORMAT_CHARACTERS
    if category in ("Cc", "Cs"):
        return char not in _LAYOUT_CONTROLS
    return False


def make_visible(text: str) -> str:
    """`text` with every hidden character (see `_is_hidden`) written as `⟨U+XXXX⟩`."""
    if text.isprintable():  # the usual case, in C: every hidden character is non-printable
        return text
    return "".join(
        f"⟨U+{ord(char):04X}⟩" if not char.isprintable() and _is_hidden(char) else char
        for char in text
    )


def isolated_html(text: str) -> str:
    """`text` made visible, HTML-escaped and isolated in `<bdi>` ("" stays ""): markup that
    can go between any two words of a page without changing how they are drawn."""
    if not text:
        return ""
    return f"<bdi>{escape(make_visible(text))}</bdi>"
