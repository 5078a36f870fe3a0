from django.apps import AppConfig


class ThingsPortalConfig(AppConfig):
    name = "things_portal"
    verbose_name = "Things Portal"

    def ready(self) -> None:
        from things_portal import checks  # noqa: F401 - registers the deploy checks
