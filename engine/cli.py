"""The `jixiao` command line: score a dossier, print a rubric's generated durable_rules rulesets.

Errors print one line naming the file and the problem, and exit non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.diagnostics import CalendarError, PackageError, RubricError
from engine.dossier import load_package
from engine.evaluate import Evaluator, render_json
from engine.rubric.load import load_rubric
from engine.rubric.registry import discover, resolve, rubric_dirs, rules_dirs
from engine.sheet import render_sheet

EXIT_INPUT = 2  # bad dossier, rubric or option
EXIT_ENGINE = 3  # the rule engine failed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jixiao", description="绩效自评工作考核评分 (rules engine)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    score = sub.add_parser("score", help="score a dossier against a rubric")
    score.add_argument("dossier", type=Path, help="the dossier manifest (TOML)")
    score.add_argument(
        "--rubric", help="ID[@VERSION]; default: the rubric covering the package's fiscal year"
    )
    score.add_argument(
        "--rubrics", help="rubric folder(s); default $JIXIAO_RUBRICS, then the bundled rubrics/"
    )
    score.add_argument(
        "--rules", help="rule set folder(s); default $JIXIAO_RULES, then the bundled rules/"
    )
    score.add_argument("--mode", choices=["bureau", "precheck"], default="bureau")
    score.add_argument("--format", choices=["table", "json"], default="table")
    score.add_argument(
        "--as-of", type=dt.date.fromisoformat, help="the evaluation date (YYYY-MM-DD)"
    )
    score.add_argument("--backend", choices=["durable", "python"], default="durable")

    rubric = sub.add_parser("rubric", help="rubric tools")
    rsub = rubric.add_subparsers(dest="rubric_command", required=True)
    compile_ = rsub.add_parser(
        "compile", help="print the durable_rules rulesets generated from a rubric"
    )
    compile_.add_argument("ref", help="ID[@VERSION]")
    compile_.add_argument("--rubrics")
    compile_.add_argument("--rules")
    return parser


def _backend(name: str):  # type: ignore[no-untyped-def]  # returns one of two backend classes
    if name == "python":
        from engine.backends import PythonBackend

        return PythonBackend()
    from engine.backends.durable_adapter import DurableBackend

    return DurableBackend()


def _score(args: argparse.Namespace) -> int:
    package = load_package(args.dossier)
    dirs = rubric_dirs(args.rubrics)
    dossier = package.dossier
    ref = args.rubric
    if ref is None:
        ids = sorted({v.id for v in discover(dirs) if dossier.fiscal_year in v.fiscal_years})
        if len(ids) != 1:
            choice = ", ".join(ids) or "none"
            print(
                f"jixiao: {args.dossier}: choose a rubric with --rubric (covering FY{dossier.fiscal_year}: {choice})",
                file=sys.stderr,
            )
            return EXIT_INPUT
        ref = ids[0]
    rubric = load_rubric(
        resolve(ref, dirs, fiscal_year=dossier.fiscal_year), rules_dirs(args.rules)
    )
    as_of = args.as_of or dossier.as_of or dossier.received_on
    if as_of is None:
        print(
            f"jixiao: {args.dossier}: no evaluation date: pass --as-of or set as_of / received_on",
            file=sys.stderr,
        )
        return EXIT_INPUT
    report = Evaluator(_backend(args.backend)).evaluate(
        package, rubric, mode=args.mode, as_of=as_of
    )
    sys.stdout.write(render_json(report) if args.format == "json" else render_sheet(report))
    return 0


def _compile(args: argparse.Namespace) -> int:
    from engine.backends.durable_adapter import DurableBackend

    rubric = load_rubric(resolve(args.ref, rubric_dirs(args.rubrics)), rules_dirs(args.rules))
    out = {
        "rubric": {"id": rubric.spec.id, "version": rubric.spec.version, "sha256": rubric.sha256},
        "ruleset": rubric.plan.name,
        "rules": {r.spec.id: r.source for r in rubric.rules}
        | {b.spec.id: b.source for b in rubric.bands},
        "rulesets": DurableBackend.definition_of(rubric.plan),
    }
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `jixiao` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "score":
            return _score(args)
        return _compile(args)
    except RubricError as exc:
        for diag in exc.diagnostics:
            print(diag.render(), file=sys.stderr)
        return EXIT_INPUT
    except PackageError as exc:
        for problem in exc.problems:
            print(f"{exc.file}: {problem.render()}", file=sys.stderr)
        return EXIT_INPUT
    except CalendarError as exc:
        print(f"jixiao: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # the last line of defence: one line, no traceback
        from engine.backends.durable_adapter import EngineError

        code = EXIT_ENGINE if isinstance(exc, EngineError) else 1
        print(f"jixiao: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return code


if __name__ == "__main__":
    raise SystemExit(main())
