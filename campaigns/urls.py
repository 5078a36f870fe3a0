from django.urls import path

import downlinks.urls  # noqa: F401 - registers the `kind` converter (lora|mqtt)
from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("t/<slug:team_slug>/campaigns/", views.campaign_list, name="list"),
    path(
        "t/<slug:team_slug>/campaigns/new/<kind:kind>",
        views.campaign_new,
        name="new",
    ),
    path(
        "t/<slug:team_slug>/campaigns/new/template/<int:template_pk>",
        views.campaign_new_from_template,
        name="new_from_template",
    ),
    path("t/<slug:team_slug>/campaigns/<int:pk>/", views.campaign_detail, name="detail"),
    path("t/<slug:team_slug>/campaigns/settings", views.campaign_settings, name="settings"),
    path("t/<slug:team_slug>/campaigns/<int:pk>/start", views.campaign_start, name="start"),
    path("t/<slug:team_slug>/campaigns/<int:pk>/approve", views.campaign_approve, name="approve"),
    path("t/<slug:team_slug>/campaigns/<int:pk>/pause", views.campaign_pause, name="pause"),
    path("t/<slug:team_slug>/campaigns/<int:pk>/resume", views.campaign_resume, name="resume"),
    path("t/<slug:team_slug>/campaigns/<int:pk>/cancel", views.campaign_cancel, name="cancel"),
    path("t/<slug:team_slug>/campaigns/<int:pk>/rerun", views.campaign_rerun, name="rerun"),
    path("t/<slug:team_slug>/campaigns/<int:pk>/rows.csv", views.campaign_export, name="export"),
]
