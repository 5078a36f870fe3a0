from django.urls import path, register_converter

from downlinks import template_views, views


class KindConverter:
    regex = "lora|mqtt"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KindConverter, "kind")

app_name = "downlinks"

urlpatterns = [
    path("t/<slug:team_slug>/<kind:kind>/", views.downlink_list, name="list"),
    path("t/<slug:team_slug>/<kind:kind>/new", views.downlink_send, name="send"),
    path(
        "t/<slug:team_slug>/<kind:kind>/new/preview",
        views.downlink_send_preview,
        name="send_preview",
    ),
    path(
        "t/<slug:team_slug>/<kind:kind>/sent/<int:record_id>/",
        views.send_attempt,
        name="attempt",
    ),
    path(
        "t/<slug:team_slug>/<kind:kind>/<uuid:downlink_id>/", views.downlink_detail, name="detail"
    ),
    path("t/<slug:team_slug>/<kind:kind>/<uuid:downlink_id>/raw", views.downlink_raw, name="raw"),
    path(
        "t/<slug:team_slug>/<kind:kind>/<uuid:downlink_id>/cancel",
        views.downlink_cancel,
        name="cancel",
    ),
]
urlpatterns += [
    path("t/<slug:team_slug>/sync/", views.sync_status, name="sync_status"),
    path(
        "t/<slug:team_slug>/templates/<int:template_pk>/send",
        template_views.template_send,
        name="template_send",
    ),
    path(
        "t/<slug:team_slug>/templates/<int:template_pk>/send/preview",
        template_views.template_send_preview,
        name="template_send_preview",
    ),
]
