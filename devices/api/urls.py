from django.urls import path
from rest_framework.routers import DefaultRouter

from .views import ChannelViewSet, DeviceChannelListView, DeviceViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("devices", DeviceViewSet, basename="device")
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns = [
    path("devices/<str:device_id>/channels/", DeviceChannelListView.as_view(), name="device-channels"),
    *router.urls,
]
