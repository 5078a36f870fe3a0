from django.apps import AppConfig


class DownlinksConfig(AppConfig):
    name = "downlinks"
    verbose_name = "Downlinks"
