from django.urls import path

from . import views

app_name = "console"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("tree/", views.TreeView.as_view(), name="tree"),
    path("live/", views.LiveView.as_view(), name="live"),
    path("streams/", views.StreamsView.as_view(), name="streams"),
    path("devices/<str:device_id>/", views.DeviceView.as_view(), name="device"),
    path("vendor/hls.min.js", views.hls_script, name="vendor-hls"),
]
