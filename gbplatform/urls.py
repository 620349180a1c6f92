from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from devices.api.views import TreeView

from .api_views import HealthView, TokenView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/health/", HealthView.as_view(), name="api-health"),
    path("api/tree/", TreeView.as_view(), name="api-tree"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("devices.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("console.urls")),
]
