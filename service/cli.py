"""The `jixiao` command: `serve`, `keys`, `audit` here; everything else goes to `engine.cli`.

The console script points here (not at engine.cli) because the engine must never import the
web stack; this module adds the service's commands and hands the rest over unchanged.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from engine.cli import main as engine_main
from service.settings import Settings

SERVICE_COMMANDS = ("serve", "keys", "audit", "season")
EXIT_INPUT = 2
EXIT_TAMPERED = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jixiao",
        description="绩效自评工作考核评分: the rules engine and its HTTP service",
        epilog="Engine commands: `jixiao score …`, `jixiao rubric …` (see `jixiao score -h`).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service (uvicorn)")
    serve.add_argument("--host", help="default $JIXIAO_HOST, then 127.0.0.1")
    serve.add_argument("--port", type=int, help="default $JIXIAO_PORT, then 8000")
    serve.add_argument(
        "--workers", type=int, help="worker processes; default $JIXIAO_WORKERS, then 1"
    )

    keys = sub.add_parser("keys", help="API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key and print it on stdout, once")
    create.add_argument("--role", required=True, choices=["department", "reviewer", "admin"])
    create.add_argument("--department", help="the department a department key belongs to")
    create.add_argument("--name", help="who holds the key (shown in audit events)")
    create.add_argument("--database-url", help="default $JIXIAO_DATABASE_URL, then the SQLite file")
    listing = ksub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--database-url")
    revoke = ksub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    revoke.add_argument("--database-url")

    audit = sub.add_parser("audit", help="the audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser(
        "verify", help="check the hash chain and every evaluation against its events"
    )
    verify.add_argument("--database-url")

    season = sub.add_parser("season", help="the season's stored evaluations")
    ssub = season.add_subparsers(dest="season_command", required=True)
    sample = ssub.add_parser(
        "sample", help="draw a seeded 抽查 sample of a fiscal year's evaluations (audited)"
    )
    sample.add_argument("--year", type=int, required=True, help="the fiscal year")
    sample.add_argument("--share", required=True, help="the share to draw, e.g. 0.2")
    sample.add_argument("--seed", required=True, help="the seed (announce it: anyone can redraw)")
    sample.add_argument("--strata", choices=["grade"], help="draw the share within each grade")
    sample.add_argument("--database-url")

    sub.add_parser("score", help="score a dossier (engine; see `jixiao score -h`)", add_help=False)
    sub.add_parser("rubric", help="rubric tools (engine; see `jixiao rubric -h`)", add_help=False)
    return parser


def _settings(url: str | None = None) -> Settings:
    # The service's dependencies load only for its own commands: `jixiao score` needs none.
    from service.settings import Settings

    settings = Settings()
    return settings.model_copy(update={"database_url": url}) if url else settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service import logs
    from service.app import announce_admin_key, startup
    from service.store import Store

    settings = _settings()
    logs.configure(settings.log_level)  # the supervisor's own lines are JSON too
    # Migrate and bootstrap once here, before the workers start, so they never race for it.
    store = Store(settings.url())
    try:
        token = startup(store, settings)
    finally:
        store.dispose()
    if token:
        announce_admin_key(token)
    if not settings.session_secret:
        # The workers inherit the environment: one secret for all of them, so a web session
        # made by one worker is accepted by the others. Replicas must set it themselves.
        os.environ["JIXIAO_SESSION_SECRET"] = secrets.token_urlsafe(32)
    uvicorn.run(
        "service.app:create_app",  # an import string and a factory: required for workers > 1
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
        access_log=False,  # the app logs one JSON line per request, with its request id
        log_config=None,  # keep uvicorn's records in the app's JSON logging
        proxy_headers=True,
    )
    return 0


def _keys(args: argparse.Namespace) -> int:

    from service.auth import KeySpecError, create_key, now
    from service.store import ApiKey, Store

    store = Store(_settings(args.database_url).url())
    try:
        store.migrate()
        if args.keys_command == "create":
            try:
                with store.write() as session:
                    _row, token = create_key(
                        session,
                        role=args.role,
                        department=args.department,
                        name=args.name,
                        created_by="cli",
                    )
            except KeySpecError as exc:
                print(f"jixiao: {exc}", file=sys.stderr)
                return EXIT_INPUT
            print(token)
            return 0
        if args.keys_command == "list":
            with store.read() as session:
                for row in session.scalars(select(ApiKey).order_by(ApiKey.created_at)):
                    state = f"revoked {row.revoked_at}" if row.revoked_at else "active"
                    print(f"{row.id}\t{row.role}\t{row.department or '-'}\t{row.name}\t{state}")
            return 0
        with store.write() as session:
            key = session.get(ApiKey, args.key_id)
            if key is None:
                print(f"jixiao: no key {args.key_id}", file=sys.stderr)
                return EXIT_INPUT
            key.revoked_at = key.revoked_at or now()
        print(f"revoked {args.key_id}")
        return 0
    finally:
        store.dispose()


def _audit(args: argparse.Namespace) -> int:

    from service.audit import verify
    from service.store import Store

    store = Store(_settings(args.database_url).url())
    try:
        with store.read() as session:
            result = verify(session)
    except SQLAlchemyError as exc:
        print(f"jixiao: cannot read the audit trail: {type(exc).__name__}", file=sys.stderr)
        return EXIT_INPUT
    finally:
        store.dispose()
    if result.ok:
        print(f"audit: {result.events} events, {result.evaluations} evaluations: chain intact")
        return 0
    for problem in result.problems:
        print(f"audit: {problem}")
    print(f"audit: FAILED: {len(result.problems)} problem(s) in {result.events} events")
    return EXIT_TAMPERED


def _season(args: argparse.Namespace) -> int:
    from service.audit import Actor
    from service.auth import now
    from service.sampling import SampleError, draw_sample
    from service.store import Store

    store = Store(_settings(args.database_url).url())
    try:
        store.migrate()
        try:
            drawn = draw_sample(
                store,
                Actor("cli", "admin", "jixiao season sample"),
                now(),
                year=args.year,
                share=args.share,
                seed=args.seed,
                strata=args.strata,
            )
        except SampleError as exc:
            print(f"jixiao: {exc}", file=sys.stderr)
            return EXIT_INPUT
    finally:
        store.dispose()
    print(f"抽查样本 {drawn['id']}：{drawn['fiscal_year']} 年度，比例 {drawn['share']}，种子 {drawn['seed']}")
    for stratum, quota in drawn["quotas"].items():
        print(f"  {stratum}：{quota['size']} 个评价，抽取 {quota['drawn']} 个")
    for evaluation_id in drawn["drawn"]:
        print(evaluation_id)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `jixiao` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] not in (*SERVICE_COMMANDS, "-h", "--help"):
        return engine_main(args)
    parsed = _parser().parse_args(args)
    if parsed.command == "serve":
        return _serve(parsed)
    if parsed.command == "keys":
        return _keys(parsed)
    if parsed.command == "season":
        return _season(parsed)
    return _audit(parsed)


if __name__ == "__main__":
    raise SystemExit(main())
