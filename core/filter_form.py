"""The base of every list's filter form."""

from urllib.parse import urlencode

from django import forms


class FilterForm(forms.Form):
    def query(self) -> str:
        """The filters as the form reads them, for the links that keep them (the pager, the
        CSV export): each once, in the form's order, the empty ones left out. A URL that
        names a filter twice gives it the last value, as the form's fields read it."""
        if not self.is_bound:
            return ""
        values = ((name, self.data.get(name, "")) for name in self.fields)
        return urlencode([(name, value) for name, value in values if value])
