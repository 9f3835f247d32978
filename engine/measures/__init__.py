"""Generic, parameterised measures. Importing this package registers every measure kind."""

from engine.measures import manifest, report  # noqa: F401  # registration side effects
