from django.apps import AppConfig


class CommandTemplatesConfig(AppConfig):
    name = "command_templates"
    verbose_name = "Command templates"
