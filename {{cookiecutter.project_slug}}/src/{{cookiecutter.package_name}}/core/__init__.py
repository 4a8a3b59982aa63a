"""Pure definitions every step uses: errors, the schema, the config, estimators and metrics.

Nothing here touches files, databases or MLflow, and nothing here imports a module outside `core`.
"""
