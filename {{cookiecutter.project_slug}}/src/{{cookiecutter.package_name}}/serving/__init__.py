"""Serving step: settings, model fetch, runner, HTTP app, middleware, Prometheus counters, server.

Importing this package imports nothing heavy.
"""
