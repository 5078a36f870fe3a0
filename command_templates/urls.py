from django.urls import path

from command_templates import views

app_name = "command_templates"

urlpatterns = [
    path("t/<slug:team_slug>/templates/", views.template_list, name="list"),
    path("t/<slug:team_slug>/templates/new", views.template_new, name="new"),
    path("t/<slug:team_slug>/templates/rule", views.templates_only, name="templates_only"),
    path("t/<slug:team_slug>/templates/<int:template_pk>/", views.template_edit, name="edit"),
]
