"""The filters a list is narrowed by, as chips: each says what it filters on and links to the
same list without it. Shown above a filter form that a phone folds away, so what narrows the
list stays in sight (core/templates/core/filter_chips.html)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict

# How a list is shown, not what it is filtered by: never a chip, kept when one is removed.
NOT_FILTERS = frozenset({"sort", "limit"})
# Where in the list one is: never a chip, and dropped when one is removed (the list changes).
POSITION = frozenset({"page", "cursor"})


@dataclass(frozen=True)
class Chip:
    label: str
    value: str
    without: str  # the query string of the list without this filter (and at its start)


def filter_chips(form: forms.Form) -> list[Chip]:
    if not form.is_bound:
        return []
    data = form.data
    if not isinstance(data, QueryDict):
        return []
    kept = [(name, value) for name in data for value in data.getlist(name) if value]
    chips = []
    for bound in form.visible_fields():
        name = bound.name
        value = data.get(name, "")
        if name in NOT_FILTERS | POSITION or not value:
            continue
        field = bound.field
        if isinstance(field, forms.ChoiceField):
            # Flat choices (the filters have no groups); Django normalises them to pairs.
            choices = cast(Iterable[tuple[object, object]], field.choices)
            labels = {str(key): str(label) for key, label in choices}
            value = labels.get(value, value)
        without = [(key, kept_value) for key, kept_value in kept if key != name]
        without = [(key, kept_value) for key, kept_value in without if key not in POSITION]
        chips.append(Chip(str(bound.label), str(value), urlencode(without)))
    return chips
