"""Generic, parameterised measures. Importing this package registers every measure kind."""

from engine.measures import arithmetic, manifest, report, report_text, tables  # noqa: F401  # registration side effects
