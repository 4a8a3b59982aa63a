"""The prediction service: settings, prediction log, model runner, HTTP app and server.

Importing this package imports nothing heavy: the monitoring job reads the prediction log with
`serving.prediction_log` without loading FastAPI.
"""
