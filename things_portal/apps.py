from django.apps import AppConfig


class ThingsPortalConfig(AppConfig):
    name = "things_portal"
    verbose_name = "Things Portal"
