"""Console pages. They only lay out the page: data comes from the same REST API and
/ws/events/ that any other client uses, read by the JavaScript modules in static/console/."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from devices import selectors

from .features import features_available, hls_script_path
from .strings import console_strings


@method_decorator(ensure_csrf_cookie, name="dispatch")
class ConsolePage(LoginRequiredMixin, TemplateView):
    """A page of the console: logged-in users only, with a CSRF cookie for the API calls."""

    nav = ""
    feature = ""  # a field of Features the page needs: without it the page is not found

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if self.feature and not getattr(features_available(), self.feature):
            raise Http404(f"the API behind this page is not installed ({self.feature})")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(nav=self.nav, strings=console_strings(), features=features_available())
        return context


class DashboardView(ConsolePage):
    template_name = "console/dashboard.html"
    nav = "dashboard"


class TreeView(ConsolePage):
    template_name = "console/tree.html"
    nav = "tree"


class LiveView(ConsolePage):
    template_name = "console/live.html"
    nav = "live"
    feature = "live_view"


class StreamsView(ConsolePage):
    template_name = "console/streams.html"
    nav = "streams"
    feature = "streams"


class DeviceView(ConsolePage):
    template_name = "console/device.html"
    nav = "tree"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["device"] = get_object_or_404(selectors.device_list(), device_id=self.kwargs["device_id"])
        return context


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True
    next_page = "console:dashboard"  # a URL name: resolve_url() reverses it


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "console:login"


@require_GET
def hls_script(request: HttpRequest) -> HttpResponse:
    """hls.js as installed from the npm registry by `make setup`: served by the platform itself,
    since surveillance networks are often cut off from the internet (no CDN)."""
    path = hls_script_path()
    if not path.is_file():
        raise Http404("hls.js is not installed (make setup installs it under var/npm)")
    # Read whole (a few hundred kB): a file iterator would be consumed synchronously under ASGI.
    response = HttpResponse(path.read_bytes(), content_type="text/javascript")
    response["Cache-Control"] = "max-age=86400"
    return response
