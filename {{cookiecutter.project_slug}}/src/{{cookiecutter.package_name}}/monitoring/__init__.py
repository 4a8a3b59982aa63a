"""Monitoring step: one version's prediction log in a window against its reference sample.

`job.monitor` is the step; the other modules are its parts (window, log reader, drift rules,
the Evidently report and the worker process it runs in, the summary, alerts).
"""
