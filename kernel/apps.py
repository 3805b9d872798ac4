"""The kernel app: what every other app may import (errors, jobs, limits, realtime, roles)."""

import logging

from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "kernel"
    verbose_name = "Kernel"

    def ready(self) -> None:
        # uvicorn runs no system checks, so a per-process limit store is also logged at start.
        from kernel import ratelimit

        for warning in ratelimit.rate_limit_store_check():
            logging.getLogger("concord").warning("%s (%s)", warning.msg, warning.id)
