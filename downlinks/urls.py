app_name = "downlinks"

urlpatterns: list[object] = []
