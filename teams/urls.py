from django.urls import path

from teams import views

app_name = "teams"

urlpatterns = [
    path("", views.home, name="home"),
    path("teams/", views.team_list, name="team_list"),
    path("audit/", views.all_audit, name="all_audit"),
    path("audit.csv", views.all_audit_csv, name="all_audit_csv"),
    path("t/<slug:team_slug>/", views.team_home, name="team_home"),
    path("t/<slug:team_slug>/members/", views.members, name="members"),
    path("t/<slug:team_slug>/members/add", views.member_add, name="member_add"),
    path(
        "t/<slug:team_slug>/members/<int:membership_id>/role", views.member_role, name="member_role"
    ),
    path(
        "t/<slug:team_slug>/members/<int:membership_id>/remove",
        views.member_remove,
        name="member_remove",
    ),
    path("t/<slug:team_slug>/credential/", views.credential, name="credential"),
    path("t/<slug:team_slug>/credential/test", views.credential_test, name="credential_test"),
    path("t/<slug:team_slug>/audit/", views.team_audit, name="audit"),
    path("t/<slug:team_slug>/audit.csv", views.team_audit_csv, name="audit_csv"),
]
