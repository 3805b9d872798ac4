from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import obtain_auth_token

from kernel.health import health


@csrf_exempt  # it changes nothing; a CSRF 403 page here would hide the real answer
def api_not_found(request: HttpRequest) -> JsonResponse:
    """Unknown API paths answer in the API's error shape, not with an HTML page."""
    body = {"message": f"No API endpoint at {request.path}.", "code": "not_found", "extra": {}}
    return JsonResponse(body, status=404)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split view: its init script is a separate file, so the Content-Security-Policy holds;
    # Swagger UI itself comes from drf-spectacular-sidecar (offline).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/auth/token/", obtain_auth_token, name="api-token"),
    path("api/v1/health/", health, name="health"),
    path("api/v1/", include("deliberation.urls")),
    path("api/v1/", include("consensus.snapshots.urls")),
    path("api/v1/", include("alignment.urls")),
    re_path(r"^api/", api_not_found),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("frontend.urls")),
]
