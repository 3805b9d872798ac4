"""Server-rendered pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from deliberation.models import Conversation


def home(request: HttpRequest) -> HttpResponse:
    conversations = Conversation.objects.all()[:100]
    return render(request, "frontend/home.html", {"conversations": conversations})
