"""Evaluate a package under a compiled rubric: measures -> facts -> backend matches -> report."""

from engine.evaluate.run import Evaluator, evaluate, render_json

__all__ = ["Evaluator", "evaluate", "render_json"]
