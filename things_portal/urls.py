from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from things_portal import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", login_not_required(views.healthz), name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("", include("teams.urls")),
    path("", include("downlinks.urls")),
]
