"""The only code that touches the outside world: raw data, the registry, exported models, logs.

Modules here import `core` (and each other), never a step.
"""
