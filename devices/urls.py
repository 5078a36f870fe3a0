from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("t/<slug:team_slug>/devices/", views.device_list, name="list"),
    path("t/<slug:team_slug>/devices/new", views.device_new, name="new"),
    path("t/<slug:team_slug>/devices/import", views.device_import, name="import"),
    path(
        "t/<slug:team_slug>/devices/import-template.csv",
        views.import_template,
        name="import_template",
    ),
    path("t/<slug:team_slug>/devices/<int:device_pk>/edit", views.device_edit, name="edit"),
    path("t/<slug:team_slug>/devices/<int:device_pk>/remove", views.device_remove, name="remove"),
    path("t/<slug:team_slug>/device-types/", views.device_types, name="types"),
    path("t/<slug:team_slug>/device-types/new", views.device_type_new, name="type_new"),
    path(
        "t/<slug:team_slug>/device-types/<int:type_pk>/", views.device_type_edit, name="type_edit"
    ),
    path(
        "t/<slug:team_slug>/device-types/<int:type_pk>/codec/<int:number>.js",
        views.codec_source,
        name="codec_source",
    ),
]
