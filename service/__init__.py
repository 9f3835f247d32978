"""The HTTP service: FastAPI over the engine, with a store, an audit trail, roles and metrics.

It stays thin: each handler translates HTTP into one engine call plus persistence.
"""
