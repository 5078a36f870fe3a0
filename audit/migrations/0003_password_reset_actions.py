"""Once added the password reset actions to `AuditEntry.action`'s choices.

Choices are not part of the schema, and the field now takes them from a callable
(`audit.models.action_choices`, since 0001), so this migration does nothing. It stays so that
databases that applied it keep the same migration graph.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]
