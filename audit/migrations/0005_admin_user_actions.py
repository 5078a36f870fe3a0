"""A no-op: it once added the admin's user actions to the choices (see 0003)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_keyed_chain_protected_head")]
