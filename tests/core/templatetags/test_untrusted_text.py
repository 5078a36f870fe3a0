"""`|untrusted` in a template: always escaped, made visible and isolated, whatever the value."""

from __future__ import annotations

from django.template import Context, Template
from django.utils.safestring import mark_safe


def render(source: str, **context: object) -> str:
    return Template("{% load untrusted_text %}" + source).render(Context(context))


def test_a_value_is_escaped_made_visible_and_isolated() -> None:
    shown = render("to {{ topic|untrusted }} now", topic="<i>abc</i>\u202egnp.exe")
    assert shown == "to <bdi>&lt;i&gt;abc&lt;/i&gt;⟨U+202E⟩gnp.exe</bdi> now"


def test_it_is_escaped_once_not_twice() -> None:
    assert render("{{ value|untrusted }}", value="a & b") == "<bdi>a &amp; b</bdi>"


def test_a_value_marked_safe_is_still_text() -> None:
    shown = render("{{ value|untrusted }}", value=mark_safe("<script>x()</script>"))
    assert shown == "<bdi>&lt;script&gt;x()&lt;/script&gt;</bdi>"


def test_it_is_escaped_with_autoescape_off_too() -> None:
    shown = render("{% autoescape off %}{{ value|untrusted }}{% endautoescape %}", value="<b>")
    assert shown == "<bdi>&lt;b&gt;</bdi>"


def test_nothing_shows_nothing() -> None:
    assert render("[{{ value|untrusted }}]", value=None) == "[]"
    assert render("[{{ value|untrusted }}]", value="") == "[]"
    assert render("[{{ missing|untrusted }}]") == "[]"


def test_after_default_the_default_is_isolated_too() -> None:
    assert render('{{ value|default:"system"|untrusted }}', value="") == "<bdi>system</bdi>"
    assert render("{{ value|untrusted }}", value=42) == "<bdi>42</bdi>"
