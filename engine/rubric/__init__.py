"""Rubric formats: schema, loader with file:line:col diagnostics, registry of versions on disk."""
