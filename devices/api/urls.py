from django.urls import path
from rest_framework.routers import DefaultRouter

from .streams import ChannelPlayView, StreamDetailView, StreamListView
from .views import ChannelViewSet, DeviceChannelListView, DeviceViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("devices", DeviceViewSet, basename="device")
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns = [
    path("devices/<str:device_id>/channels/", DeviceChannelListView.as_view(), name="device-channels"),
    path(
        "devices/<str:device_id>/channels/<str:channel_id>/play/",
        ChannelPlayView.as_view(),
        name="channel-play",
    ),
    path("streams/", StreamListView.as_view(), name="stream-list"),
    path("streams/<str:stream_id>/", StreamDetailView.as_view(), name="stream-detail"),
    *router.urls,
]
