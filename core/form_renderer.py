"""The one way a form field is drawn: `core/field.html` for a field, `core/form.html` for a
form, set as the project's FORM_RENDERER. A form with errors starts with a summary
(`core/error_summary.html`, which forms drawn field by field include themselves) linking to
each field, and the page moves the focus to it (static js/error-summary.js).

The field template gives the help text the id `<field id>_helptext` and the errors the id
`<field id>_error`, the ids Django puts in the widget's `aria-describedby`: a screen reader
reads both with the input.

The field template and the widgets are Jinja2 (`core/jinja2/core/field.html`, and Django's own
Jinja2 versions of its widget templates): the same markup, two to four times as fast as the
Django template language (the list page's filter form took a third of its rendering time).
The form template stays a Django template: it includes the error summary, shared with pages.
"""

from functools import cached_property
from typing import Any

from django.forms.renderers import DjangoTemplates, Jinja2

WIDGET_TEMPLATES = "django/forms/widgets/"
FIELD_TEMPLATE = "core/field.html"


class PortalFormRenderer(DjangoTemplates):
    form_template_name = "core/form.html"
    field_template_name = FIELD_TEMPLATE

    @cached_property
    def jinja2(self) -> Jinja2:
        return Jinja2()

    def get_template(self, template_name: str) -> Any:
        if template_name == FIELD_TEMPLATE or template_name.startswith(WIDGET_TEMPLATES):
            return self.jinja2.get_template(template_name)
        return super().get_template(template_name)
