from django.urls import path

from deliberation.consumers import ConversationConsumer

websocket_urlpatterns = [
    path("ws/conversations/<slug:slug>/", ConversationConsumer.as_asgi()),
]
