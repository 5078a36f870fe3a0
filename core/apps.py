from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Installed so that its template tags and templates are found."""

    name = "core"
    verbose_name = "Shared pieces"
