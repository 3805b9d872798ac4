"""Shared kernel every app may import: errors, jobs and their queue, realtime, roles, limits.

It imports no Concord app; apps register what the kernel needs (job tasks) at start-up.
"""
