from django.contrib import admin
from django.urls import include, path

# /healthz is answered by things_portal.health.HealthCheckMiddleware, before host checks.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("teams.urls")),
    path("", include("devices.urls")),
    path("", include("command_templates.urls")),
    path("", include("downlinks.urls")),
    path("", include("campaigns.urls")),
]
