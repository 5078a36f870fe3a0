from django.urls import path

from downlinks import views

app_name = "downlinks"

urlpatterns = [
    path("", views.home, name="home"),
]
