from django.urls import path  # noqa: F401  (endpoints are added with the alignment Django layer)

urlpatterns: list = []
