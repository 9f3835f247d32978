"""Rubric lifecycle tooling above evaluation: lint, case suites, diff and what-if, publishing.

It compiles and scores through the layers below (engine.rubric, engine.evaluate); nothing
below imports it.
"""
