"""The `jixiao` command line: score a dossier, print a rubric's generated durable_rules rulesets.

Errors print one line naming the file and the problem, and exit non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.decimals import q2
from engine.diagnostics import CalendarError, PackageError, RubricError
from engine.evaluate import Evaluator, render_json
from engine.labels import CHANGED_PARTS, CHANGES, label
from engine.rubric.load import load_rubric
from engine.rubric.registry import resolve, rubric_dirs, rules_dirs
from engine.sheet import render_sheet

EXIT_INPUT = 2  # bad dossier, rubric or option
EXIT_ENGINE = 3  # the rule engine failed
EXIT_BATCH_FAILURES = 4  # a batch finished, but some of its packages could not be scored


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jixiao", description="绩效自评工作考核评分 (rules engine)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    score = sub.add_parser("score", help="score a dossier (or a folder of them) against a rubric")
    score.add_argument(
        "dossier",
        type=Path,
        nargs="+",
        help="dossier manifest(s) (TOML), or folders: every manifest below them is scored",
    )
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
    score.add_argument(
        "--out", type=Path, help="also write the printable score sheet: .xlsx, .docx or .pdf"
    )
    score.add_argument(
        "--explain",
        action="store_true",
        help="print why every rule and band did or did not apply, instead of the report",
    )
    batch = score.add_argument_group("batch (several dossiers or a folder)")
    batch.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    batch.add_argument("--out-dir", type=Path, help="write each package's report here")
    batch.add_argument(
        "--out-format",
        action="append",
        choices=["json", "xlsx", "docx", "pdf"],
        help="what --out-dir gets per package (repeatable; default json)",
    )
    batch.add_argument(
        "--summary", type=Path, help="write the results table (考核结果汇总表): .csv, .xlsx or .pdf"
    )
    batch.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        help="the results table's date (default: the latest evaluation date)",
    )

    rubric = sub.add_parser("rubric", help="rubric tools")
    rsub = rubric.add_subparsers(dest="rubric_command", required=True)
    compile_ = rsub.add_parser(
        "compile", help="print the durable_rules rulesets generated from a rubric"
    )
    compile_.add_argument("ref", help="ID[@VERSION]")
    compile_.add_argument("--rubrics")
    compile_.add_argument("--rules")

    lint = rsub.add_parser(
        "lint", help="check every rubric, rule set and data file; file:line:col diagnostics"
    )
    lint.add_argument(
        "dirs",
        nargs="*",
        type=Path,
        help="folders of <id>/<version>.toml (default: rubrics/ and rules/)",
    )
    lint.add_argument("--rules")

    test = rsub.add_parser("test", help="run the case suites beside each rubric")
    test.add_argument(
        "dirs", nargs="*", type=Path, help="rubric folders (default: the bundled rubrics/)"
    )
    test.add_argument("--rules")
    test.add_argument("--backend", choices=["durable", "python"], default="durable")

    diff = rsub.add_parser(
        "diff", help="what a rubric change does: rule changes, then re-scored packages"
    )
    diff.add_argument("old", help="ID@VERSION")
    diff.add_argument("new", help="ID@VERSION")
    diff.add_argument(
        "--corpus", type=Path, help="a folder of dossiers (**/dossier*.toml) to re-score"
    )
    diff.add_argument("--rubrics")
    diff.add_argument("--rules")
    diff.add_argument("--format", choices=["table", "json"], default="table")
    diff.add_argument("--backend", choices=["durable", "python"], default="durable")
    diff.add_argument("--as-of", type=dt.date.fromisoformat)

    publish = rsub.add_parser(
        "publish", help="record a version's sha256 in the lock file (immutable after)"
    )
    publish.add_argument("file", type=Path)

    calibrate = rsub.add_parser(
        "calibrate",
        help="band agreement with a labelled corpus of report sections, fit and held-out",
    )
    calibrate.add_argument("ref", help="ID[@VERSION]")
    calibrate.add_argument("corpus", type=Path, help="the corpus file (TOML)")
    calibrate.add_argument("--rubrics")
    calibrate.add_argument("--rules")
    calibrate.add_argument("--backend", choices=["durable", "python"], default="durable")
    calibrate.add_argument(
        "--misses", action="store_true", help="list each section whose band disagrees"
    )

    schema = rsub.add_parser(
        "schema", help="regenerate the JSON Schemas in schema/ (or --check them)"
    )
    schema.add_argument("--check", action="store_true")
    return parser


def _backend(name: str):  # type: ignore[no-untyped-def]  # returns one of two backend classes
    if name == "python":
        from engine.backends import PythonBackend

        return PythonBackend()
    from engine.backends.durable_adapter import DurableBackend

    return DurableBackend()


def _score(args: argparse.Namespace) -> int:
    if args.out is not None and not args.out.parent.is_dir():
        # Checked before scoring: a missing folder is the caller's typo, not an engine failure.
        print(f"jixiao: --out {args.out}: folder {args.out.parent} does not exist", file=sys.stderr)
        return EXIT_INPUT
    from engine.batch import prepare

    batch_only = args.out_dir or args.summary or args.jobs != 1 or args.out_format
    if len(args.dossier) > 1 or args.dossier[0].is_dir() or batch_only:
        return _score_batch(args)
    package, rubric, as_of = prepare(args.dossier[0], args.rubric, args.rubrics, args.rules, args.as_of)
    if args.explain:
        from engine.evaluate.explain import render_explanation

        _, explanation = Evaluator(_backend(args.backend)).explain(
            package, rubric, mode=args.mode, as_of=as_of
        )
        shown = render_json(explanation) if args.format == "json" else render_explanation(explanation)
        sys.stdout.write(shown)
        return 0
    report = Evaluator(_backend(args.backend)).evaluate(
        package, rubric, mode=args.mode, as_of=as_of
    )
    if args.out is not None:
        from engine.export import export_sheet

        export_sheet(report, args.out, os.environ.get("JIXIAO_TIMEZONE"))
        print(f"jixiao: wrote {args.out}", file=sys.stderr)
    sys.stdout.write(render_json(report) if args.format == "json" else render_sheet(report))
    return 0


def _score_batch(args: argparse.Namespace) -> int:
    """Several packages: progress on stderr, a line per package, the failures, the summary."""
    from engine.batch import BatchOptions, BatchResult, find_dossiers, run_batch

    if args.jobs < 1:
        raise ValueError("--jobs must be at least 1")
    if args.out is not None:
        raise ValueError("--out is for one dossier; with several use --out-dir and --out-format")
    if args.explain:
        raise ValueError("--explain is for one dossier")
    if args.summary is not None and args.summary.suffix.lower().lstrip(".") not in (
        "csv",
        "xlsx",
        "pdf",
    ):
        raise ValueError(f"--summary {args.summary}: expected a .csv, .xlsx or .pdf file")
    paths = find_dossiers(args.dossier)
    if not paths:
        print(f"jixiao: no dossier manifests in {', '.join(map(str, args.dossier))}", file=sys.stderr)
        return EXIT_INPUT
    options = BatchOptions(
        rubric=args.rubric,
        rubrics=args.rubrics,
        rules=args.rules,
        mode=args.mode,
        as_of=args.as_of,
        backend=args.backend,
        out_dir=args.out_dir,
        out_formats=tuple(dict.fromkeys(args.out_format or ["json"])),
    )
    done = 0

    def line(result: BatchResult) -> None:
        nonlocal done
        done += 1
        if result.ok:
            total = result.report()["total"]
            shown = f"{total['score']} {total.get('grade') or ''}".rstrip()
            print(f"[{done}/{len(paths)}] {result.path}: {shown}", file=sys.stderr)
        else:
            print(f"[{done}/{len(paths)}] {result.path}: 失败 {result.error}", file=sys.stderr)

    if sys.stderr.isatty():
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = (
            TextColumn("评分"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task("score", total=len(paths), rate="")

            def advance(result: BatchResult) -> None:
                speed = bar.tasks[0].speed
                bar.update(task, advance=1, rate=f"{speed:.1f} 个/秒" if speed else "")

            results = run_batch(paths, options, jobs=args.jobs, on_result=advance)
    else:
        results = run_batch(paths, options, jobs=args.jobs, on_result=line)
    return _batch_outcome(args, results)


def _batch_outcome(args: argparse.Namespace, results: list[Any]) -> int:
    from engine.export.summary import SummaryEntry, results_table, summary_bytes

    failed = [r for r in results if not r.ok]
    if args.summary is not None:
        entries = [
            SummaryEntry(r.path, r.report() if r.ok else None, r.error or "") for r in results
        ]
        data = summary_bytes(results_table(entries, args.date), args.summary.suffix)
        partial = args.summary.with_name(args.summary.name + ".part")
        partial.write_bytes(data)
        partial.replace(args.summary)
        print(f"jixiao: wrote {args.summary}", file=sys.stderr)
    print(f"评分完成：共 {len(results)} 个材料包，{len(results) - len(failed)} 个已评分，{len(failed)} 个失败")
    for result in failed:
        print(f"失败  {result.path}: {result.error}")
    return EXIT_BATCH_FAILURES if failed else 0


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


def _lint(args: argparse.Namespace) -> int:
    from engine.lifecycle.lint import lint_tree

    dirs = args.dirs or [*rubric_dirs(None), *rules_dirs(None)]
    diags, files = lint_tree(dirs, rules_dirs(args.rules))
    for diag in diags:
        print(diag.render())
    print(f"{files} files checked, {len(diags)} problems", file=sys.stderr)
    return EXIT_INPUT if diags else 0


def _test(args: argparse.Namespace) -> int:
    from engine.lifecycle.casesuite import load_suite, run_case, suite_files

    failed = total = 0
    backend = _backend(args.backend)
    for base in args.dirs or rubric_dirs(None):
        folders = (
            [base] if (base / "tests").is_dir() else sorted(p for p in base.iterdir() if p.is_dir())
        )
        for folder in folders:
            for path in suite_files(folder):
                try:
                    suite = load_suite(path)
                    rubric = load_rubric(
                        resolve(suite.rubric, [folder.parent]), rules_dirs(args.rules)
                    )
                except (RubricError, OSError, ValueError) as exc:
                    # One unreadable suite or rubric fails on its own; the others still run.
                    total += 1
                    failed += 1
                    print(f"FAIL {folder.name}/{path.name}: {_one_line(exc)}")
                    continue
                for case in suite.cases:
                    result = run_case(path, suite, case, rubric, backend)
                    total += 1
                    failed += not result.ok
                    print(
                        f"{'ok  ' if result.ok else 'FAIL'} {folder.name}/{path.name}: {case.name}"
                    )
                    for problem in result.problems:
                        print(f"       {problem}")
    if total == 0:
        # Nothing ran: "0 passed" with exit 0 would read as a green check.
        where = ", ".join(str(d) for d in (args.dirs or rubric_dirs(None)))
        print(
            f"jixiao: no case suites found under {where} (expected <id>/tests/*.toml)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


def _one_line(exc: Exception) -> str:
    if isinstance(exc, RubricError):
        return "; ".join(d.render() for d in exc.diagnostics)
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _diff(args: argparse.Namespace) -> int:
    from engine.lifecycle.diff import diff_report, load_corpus, rescore, rule_changes, summary

    dirs, rules = rubric_dirs(args.rubrics), rules_dirs(args.rules)
    old = load_rubric(resolve(args.old, dirs), rules)
    new = load_rubric(resolve(args.new, dirs), rules)
    changes = rule_changes(old, new)
    deltas = []
    if args.corpus:
        corpus = load_corpus(args.corpus, old.layout)
        backend = _backend(args.backend)
        if args.format == "table" and sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("re-scoring", total=len(corpus))
                deltas = rescore(
                    old, new, corpus, backend, as_of=args.as_of, progress=lambda: bar.advance(task)
                )
        else:
            deltas = rescore(old, new, corpus, backend, as_of=args.as_of)
    if args.format == "json":
        out = diff_report(old, new, deltas if args.corpus else None)
        sys.stdout.write(render_json(out))
        return 0
    print(f"{old.ref} → {new.ref}")
    print(f"规则变化（{len(changes)}）")
    for c in changes:
        shown = f"{c.old} → {c.new}" if c.kind == "changed" else (c.new or c.old)
        kind, what = label(CHANGES, c.kind), label(CHANGED_PARTS, c.what)
        print(f"  {kind}  {what}  {c.ident}  {shown}")
    if args.corpus:
        print(f"重新评分（{len(deltas)} 个包）")
        for d in deltas:
            causes = (
                "；".join(f"{c['rule']} {_lost(c['old'])} → {_lost(c['new'])}" for c in d.causes)
                or "无变化"
            )
            print(f"  {d.package}  {d.department}  {d.old} → {d.new}  Δ {d.delta:+}  {causes}")
        s = summary(deltas)
        print(
            f"合计：{s['packages']} 个包，{s['changed']} 个有变化，平均 Δ {s['mean_delta']:+}，"
            f"最小 Δ {s['min_delta']:+}，最大 Δ {s['max_delta']:+}"
        )
    return 0


def _lost(points: Decimal) -> str:
    """Points taken as the diff prints them: "0" when none, else "−3.00"."""
    return "0" if points == 0 else f"−{q2(points):.2f}"


def _calibrate(args: argparse.Namespace) -> int:
    from engine.lifecycle.calibrate import calibrate, load_corpus, render

    rubric = load_rubric(resolve(args.ref, rubric_dirs(args.rubrics)), rules_dirs(args.rules))
    result = calibrate(rubric, load_corpus(args.corpus), _backend(args.backend))
    sys.stdout.write(render(result, show_misses=args.misses))
    return 0


def _publish(args: argparse.Namespace) -> int:
    from engine.lifecycle.lint import publish

    print(publish(args.file))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from engine.lifecycle.lint import SCHEMA_DIR, schemas, write_schemas

    if args.check:
        stale = [
            n
            for n, text in schemas().items()
            if not (SCHEMA_DIR / n).is_file() or (SCHEMA_DIR / n).read_text("utf-8") != text
        ]
        for name in stale:
            print(f"schema/{name}: out of date: run `jixiao rubric schema`", file=sys.stderr)
        return 1 if stale else 0
    for path in write_schemas():
        print(path)
    return 0


_RUBRIC_COMMANDS = {
    "compile": _compile,
    "lint": _lint,
    "test": _test,
    "diff": _diff,
    "publish": _publish,
    "schema": _schema,
    "calibrate": _calibrate,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `jixiao` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "score":
            return _score(args)
        return _RUBRIC_COMMANDS[args.rubric_command](args)
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
    except ValueError as exc:  # e.g. --out with a suffix no exporter writes
        print(f"jixiao: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:  # e.g. --out into a read-only folder
        print(f"jixiao: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # the last line of defence: one line, no traceback
        from engine.backends.durable_adapter import EngineError

        code = EXIT_ENGINE if isinstance(exc, EngineError) else 1
        print(f"jixiao: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return code


if __name__ == "__main__":
    raise SystemExit(main())
