"""Invisible and bidi characters made visible: every one the issue names, every format
character Unicode knows, and nothing of ordinary text in any script."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from core.visible_text import isolated_html, make_visible

BIDI_CONTROLS = [
    *(chr(code) for code in range(0x202A, 0x202F)),  # LRE, RLE, PDF, LRO, RLO
    *(chr(code) for code in range(0x2066, 0x206A)),  # LRI, RLI, FSI, PDI
    "\u200e",  # LEFT-TO-RIGHT MARK
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\u061c",  # ARABIC LETTER MARK
]
INVISIBLE = [
    *(chr(code) for code in range(0x200B, 0x200E)),  # zero-width space, non-joiner, joiner
    *(chr(code) for code in range(0x2060, 0x2065)),  # word joiner, invisible operators
    "\ufeff",  # ZERO WIDTH NO-BREAK SPACE (the BOM)
    "\u00ad",  # SOFT HYPHEN
    "\u180e",  # MONGOLIAN VOWEL SEPARATOR
    "\U000e0041",  # TAG LATIN CAPITAL LETTER A: hidden text
    "\U000e007f",  # CANCEL TAG
]
CONTROLS = ["\x00", "\x07", "\x08", "\x1b", "\x7f", "\x85", "\x9b"]
# Format characters that are drawn (Prepended_Concatenation_Mark): ordinary Arabic etc.
DRAWN = "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"


def shown(char: str) -> str:
    return f"⟨U+{ord(char):04X}⟩"


@pytest.mark.parametrize("char", BIDI_CONTROLS + INVISIBLE + CONTROLS, ids=ascii)
def test_each_named_character_is_written_out(char: str) -> None:
    assert make_visible(f"ab{char}cd") == f"ab{shown(char)}cd"
    assert make_visible(char) == shown(char)


def test_the_reversed_file_name_of_the_issue() -> None:
    assert make_visible("abc\u202egnp.exe") == "abc⟨U+202E⟩gnp.exe"


def test_every_format_character_but_the_drawn_ones_is_written_out() -> None:
    formats = [
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf" and chr(code) not in DRAWN
    ]
    assert len(formats) > 150  # Unicode 15 has 170 format characters
    text = "".join(formats)
    assert make_visible(text) == "".join(shown(char) for char in formats)


def test_a_lone_surrogate_is_written_out_so_the_page_can_be_encoded() -> None:
    visible = make_visible("a\ud800b")
    assert visible == "a⟨U+D800⟩b"
    visible.encode("utf-8")


@pytest.mark.parametrize(
    "text",
    [
        "plain ASCII: urn:dev:imei:350266800610993 / downlink/+status #1",
        "Ærøskøbing, Łódź, Đà Nẵng, São Paulo",
        "مرحبا بالعالم ١٢٣",  # Arabic, with Arabic-Indic digits
        "שלום עולם 123",  # Hebrew
        "سلام دنیا",  # Persian
        "नमस्ते दुनिया",  # Devanagari: combining marks (Mn) stay
        "こんにちは世界, 你好, 안녕하세요",
        "🚀📡 ❤️ 👍🏽 🇳🇱",  # emoji, a variation selector (Mn), a skin tone (Sk), a flag
        "no\u00a0break, thin\u2009space, ideographic\u3000space",  # spaces (Zs) are drawn
        "tabs\tand\nnew\r\nlines",
        "\u0600\u0661\u0662 and \u06dd\u0663",  # drawn format characters over digits
        "",
    ],
)
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert make_visible(text) == text


def test_writing_out_twice_changes_nothing_more() -> None:
    once = make_visible("a\u202eb\u200dc\x1b")
    assert make_visible(once) == once


def test_the_html_is_escaped_visible_and_isolated() -> None:
    assert isolated_html("<b class=\"x\">'&'</b>\u202e") == (
        "<bdi>&lt;b class=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/b&gt;⟨U+202E⟩</bdi>"
    )
    assert isolated_html("שלום") == "<bdi>שלום</bdi>"


def test_no_text_is_no_markup() -> None:
    assert isolated_html("") == ""
