"""ASGI entry point: HTTP through Django, websockets through Channels."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from deliberation.vote_batching import VoteASGIHandler  # noqa: E402

# Django's ASGI handler, except that token votes and reads get no per-request thread (see
# its docstring).
django_asgi_app = VoteASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from deliberation.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# Everything loaded so far (Django, the apps, the URLconf, the libraries) lives as long as the
# process: moved out of the garbage collector's generations, a full collection no longer walks
# it. Measured: full collections of those objects were the slowest 1 % of votes under load
# (README, "Under load").
gc.freeze()
