"""The `jixiao` command: `serve`, `keys`, `audit` here; everything else goes to `engine.cli`.

The console script points here (not at engine.cli) because the engine must never import the
web stack; this module adds the service's commands and hands the rest over unchanged. The
service's dependencies (the `service` extra) load only inside its own commands, so a base
`pip install jixiao` runs `jixiao score` and `jixiao rubric …` (docs/decisions.md).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.cli import main as engine_main

if TYPE_CHECKING:
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
    serve.add_argument(
        "--processes",
        type=int,
        help="single-worker processes behind HAProxy (0: one per core); "
        "default $JIXIAO_PROCESSES, then 1 (no HAProxy)",
    )

    keys = sub.add_parser("keys", help="API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key and print it on stdout, once")
    create.add_argument("--role", required=True, choices=["department", "reviewer", "admin"])
    create.add_argument("--department", help="the department a department key belongs to")
    create.add_argument("--name", help="who holds the key (shown in audit events)")
    create.add_argument(
        "--database-url",
        help="default $JIXIAO_DATABASE_URL, then $JIXIAO_DB_PATH, then data/jixiao.db in the "
        "project: the same store as `jixiao serve`",
    )
    create.add_argument(
        "--init", action="store_true", help="create the store if it does not exist yet"
    )
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
    processes: int = args.processes if args.processes is not None else settings.processes
    if processes != 1:
        from service.balancer import BalancerError, serve_balanced

        try:
            return serve_balanced(
                args.host or settings.host, args.port or settings.port, processes or os.cpu_count() or 1
            )
        except BalancerError as exc:
            print(f"jixiao: {exc}", file=sys.stderr)
            return EXIT_INPUT
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
    from sqlalchemy import select

    from service.auth import KeySpecError, create_key, forget_keys, now
    from service.store import ApiKey, Store

    settings = _settings(args.database_url)
    url = settings.url()
    exists = _store_exists(url)
    if exists is None:
        print(f"jixiao: cannot reach the key store at {_shown(url)}", file=sys.stderr)
        return EXIT_INPUT
    if not exists and not getattr(args, "init", False):
        # A key made in a new, empty store is a key the running server has never heard of.
        print(
            f"jixiao: no key store at {_shown(url)}; start `jixiao serve` first (it creates "
            "the store), set JIXIAO_DATABASE_URL or JIXIAO_DB_PATH to the server's store, "
            "or pass --init to create a new one",
            file=sys.stderr,
        )
        return EXIT_INPUT
    print(f"jixiao: key store {_shown(url)}", file=sys.stderr)
    store = Store(url)
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
        forget_keys()  # an app in this process stops accepting it at once
        print(f"revoked {args.key_id}")
        return 0
    finally:
        store.dispose()


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _store_exists(url: str) -> bool | None:
    """Whether the store at `url` exists and holds the key table (never creates anything);
    None when the database cannot be reached."""
    from pathlib import Path

    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).expanduser().is_file():
            return False  # connecting would create the file
    engine = create_engine(parsed)
    try:
        with engine.connect() as conn:
            return inspect(conn).has_table("api_keys")
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _audit(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

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
    try:
        if parsed.command == "serve":
            return _serve(parsed)
        if parsed.command == "keys":
            return _keys(parsed)
        if parsed.command == "season":
            return _season(parsed)
        return _audit(parsed)
    except ModuleNotFoundError as exc:  # a base install: the service extra is not there
        print(
            f"jixiao {parsed.command}: needs the service extra ({exc.name} is missing): "
            "pip install 'jixiao[service]'",
            file=sys.stderr,
        )
        return EXIT_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
