"""The one way a form field is drawn: `core/field.html` for a field, `core/form.html` for a
form, set as the project's FORM_RENDERER. A form with errors starts with a summary
(`core/error_summary.html`, which forms drawn field by field include themselves) linking to
each field, and the page moves the focus to it (static js/error-summary.js).

The field template gives the help text the id `<field id>_helptext` and the errors the id
`<field id>_error`, the ids Django puts in the widget's `aria-describedby`: a screen reader
reads both with the input.
"""

from django.forms.renderers import DjangoTemplates


class PortalFormRenderer(DjangoTemplates):
    form_template_name = "core/form.html"
    field_template_name = "core/field.html"
