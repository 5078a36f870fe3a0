"""The one way a form field is drawn: `core/field.html` for a field, `core/form.html` for a
form, set as the project's FORM_RENDERER. A form with errors starts with a summary
(`core/error_summary.html`, which forms drawn field by field include themselves) linking to
each field, and the page moves the focus to it (static js/error-summary.js).

The field template gives the help text the id `<field id>_helptext` and the errors the id
`<field id>_error`, the ids Django puts in the widget's `aria-describedby`: a screen reader
reads both with the input.

The widgets themselves are drawn by Django's own Jinja2 versions of its widget templates: the
same markup, about twice as fast as the Django template language on a select's options (the
list page's filter form took a third of its rendering time).
"""

from functools import cached_property
from typing import Any

from django.forms.renderers import DjangoTemplates, Jinja2

WIDGET_TEMPLATES = "django/forms/widgets/"


class PortalFormRenderer(DjangoTemplates):
    form_template_name = "core/form.html"
    field_template_name = "core/field.html"

    @cached_property
    def widgets(self) -> Jinja2:
        return Jinja2()

    def get_template(self, template_name: str) -> Any:
        if template_name.startswith(WIDGET_TEMPLATES):
            return self.widgets.get_template(template_name)
        return super().get_template(template_name)
