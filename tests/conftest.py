"""Shared fixtures: databases (SQLite and PostgreSQL), the demo company, the app."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import ThrowawayPostgres
from sqlalchemy import Engine, text

from sop_core.db import user_repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.db.migrate import upgrade
from sop_core.services import figures
from sop_core.services.bootstrap import DEMO_USERS

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("SOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: The app shows users a friendly message for an unexpected error; the tests (app tests, and the browser tests'
#: servers, which inherit the environment) see the exception itself, so that a failing page fails its test.
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")


#: Seeds the demo company into the SQLite file named by ``argv[1]``, as the app's first start does.
_SEED_DEMO = """
import sys
from sqlalchemy import text
from sop_core.db.engine import make_engine
from sop_core.services.bootstrap import ensure_ready
try:
    engine = make_engine(f"sqlite:///{sys.argv[1]}")
    ensure_ready(engine)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
except BaseException:
    open(sys.argv[1] + ".failed", "w").close()
    raise
open(sys.argv[1] + ".done", "w").close()
"""
_DEMO_SEEDING = pytest.StashKey[tuple[subprocess.Popen, Path]]()


def _needs_demo(item: pytest.Item) -> bool:
    return "demo_db_template" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that need the seeded demo database run after the others (a stable sort: each group keeps its
    order), so that its seeding, started in a second process when collection ends, overlaps the others."""
    items.sort(key=_needs_demo)


def _start_seeding(config: pytest.Config) -> None:
    path = Path(tempfile.mkdtemp(prefix="sop-demo-")) / "demo.db"
    with (path.parent / "seed.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", _SEED_DEMO, str(path)], cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
    config.stash[_DEMO_SEEDING] = (proc, path)


def _distributed(config: pytest.Config) -> bool:
    """True in the controlling process of a run spread over workers (``pytest -n N``, pytest-xdist)."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """Spread over workers, the controlling process seeds the demo once, while the workers start and run the
    tests that do not need it; each worker's ``demo_db_template`` waits for it."""
    if _distributed(config) and not config.option.collectonly:
        _start_seeding(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    seeding = node.config.stash.get(_DEMO_SEEDING, None)
    if seeding is not None:
        node.workerinput["sop_demo_seed"] = str(seeding[1])


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly or hasattr(config, "workerinput") or _DEMO_SEEDING in config.stash:
        return
    if any(_needs_demo(item) for item in session.items):
        _start_seeding(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    seeding = config.stash.get(_DEMO_SEEDING, None)
    if seeding is not None:
        proc, path = seeding
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(path.parent, ignore_errors=True)


#: The interpreter's own ``__main__`` (the test runner's), as it was when the suite started.
_RUNNER_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Every test starts and ends with the test runner's ``__main__``: Streamlit's AppTest runs a page as
    ``__main__`` and leaves it there, and a process started by "spawn" afterwards (a Dask worker of the forecast
    backend test, in the same test worker) would run that page again on start."""
    sys.modules["__main__"] = _RUNNER_MAIN
    yield
    sys.modules["__main__"] = _RUNNER_MAIN


@pytest.fixture(autouse=True)
def _no_kept_figures() -> Iterator[None]:
    """Every test starts without the figures an earlier test kept in this process (sop_core.services.figures):
    a test that replaces a service function must see it called, whatever an earlier test computed."""
    figures.forget()
    yield


def _pg_available() -> str | None:
    try:
        eng = make_engine(PG_URL)
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any connection failure
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@pytest.fixture
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2 at its cheapest parameters (1 pass over 1 MiB) for tests that sign in many times; the checks and
    the rehash rule work as with the real parameters (they compare with whatever the hasher's are)."""
    from argon2 import PasswordHasher

    from sop_core.services import passwords

    passwords._stand_in_hash.cache_clear()
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    passwords._stand_in_hash.cache_clear()


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped at the end (runs don't collide)."""
    problem = _pg_available()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable under CI: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    schema = f"sop_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def empty_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database migrated to head once per run; tests copy it."""
    path = tmp_path_factory.mktemp("empty") / "empty.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    with eng.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    eng.dispose()
    return path


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    """A private copy of the empty database at head."""
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.sqlite), pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database at schema head, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = _fresh_sqlite(request.getfixturevalue("empty_db_template"), tmp_path)
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
        yield url
        return
    url = request.getfixturevalue("pg_schema_url")
    eng = make_engine(url)
    upgrade(eng)
    yield url
    # empty every table so the next test starts clean (schema stays at head)
    from sop_core.db.schema import ALL_MODELS

    with eng.begin() as conn:
        names = ", ".join(f'"{mdl.__tablename__}"' for mdl in ALL_MODELS)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(empty_db_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """An empty SQLite database at schema head (for tests that need no PostgreSQL run)."""
    eng = make_engine(_fresh_sqlite(empty_db_template, tmp_path))
    upgrade(eng)
    yield eng
    eng.dispose()


def add_demo_users(engine: Engine) -> None:
    """The demo company's users (``demo``, an admin; ``dana``, ``sam``, ``fiona``, ``eric``: a demand planner,
    a supply planner, finance, an executive; no passwords) in ``engine``'s database."""
    with session_scope(engine) as s:
        user_repo.add_missing_users(s, DEMO_USERS)


@pytest.fixture
def demo_users(request: pytest.FixtureRequest) -> None:
    """The demo users (:func:`add_demo_users`) in the databases the test uses (``engine``, ``sqlite_engine``):
    every service write checks that its user exists and has the role for it."""
    for name in ("engine", "sqlite_engine"):
        if name in request.fixturenames:
            value = request.getfixturevalue(name)
            if isinstance(value, Engine):  # a test may name a parameter ``engine`` too
                add_demo_users(value)


@pytest.fixture(scope="session")
def demo_db_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company seeded once per run into a SQLite file (by the process started when collection
    ended); tests copy it."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    seeded_by_controller = getattr(request.config, "workerinput", {}).get("sop_demo_seed")
    if seeded_by_controller:  # a worker of a distributed run: wait for the controlling process's seeding
        seeded = Path(seeded_by_controller)
        deadline = time.monotonic() + 600
        while not seeded.with_name(f"{seeded.name}.done").exists():
            if time.monotonic() > deadline or seeded.with_name(f"{seeded.name}.failed").exists():
                log = (seeded.parent / "seed.log").read_text(errors="replace")
                pytest.fail(f"seeding the demo database failed or did not finish:\n{log[-4000:]}")
            time.sleep(0.2)
        shutil.copyfile(seeded, path)
        return path
    seeding = request.config.stash.get(_DEMO_SEEDING, None)
    if seeding is None:  # not started (collected another way): seed here
        subprocess.run([sys.executable, "-c", _SEED_DEMO, str(path)], cwd=ROOT, check=True, timeout=600)
        return path
    proc, seeded = seeding
    if proc.wait(timeout=600) != 0:
        log = (seeded.parent / "seed.log").read_text(errors="replace")
        pytest.fail(f"seeding the demo database failed (exit {proc.returncode}):\n{log[-4000:]}")
    shutil.copyfile(seeded, path)
    return path


@pytest.fixture
def demo_url(demo_db_template: Path, tmp_path: Path) -> str:
    """A private copy of the seeded demo database (tests may write to it)."""
    target = tmp_path / "demo.db"
    shutil.copyfile(demo_db_template, target)
    return f"sqlite:///{target}"


def _fingerprint(path: Path) -> str:
    """A digest of a SQLite file and its write-ahead log: any committed write changes one of them."""
    digest = hashlib.blake2b()
    for part in (path, path.with_name(f"{path.name}-wal")):
        digest.update(part.read_bytes() if part.exists() else b"")
        digest.update(b"|")
    return digest.hexdigest()


@pytest.fixture(scope="session")
def shared_demo_path(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the seeded demo database for the whole run, for the tests that only read it."""
    path = tmp_path_factory.mktemp("shared-demo") / "demo.db"
    shutil.copyfile(demo_db_template, path)
    return path


@pytest.fixture
def shared_demo_url(shared_demo_path: Path) -> Iterator[str]:
    """The demo database shared by the tests that only read it (the app's caches, keyed on the database URL,
    stay warm from one such test to the next). Each test must leave it unchanged, which is checked after the
    test: a test that writes takes ``demo_url``, its own copy."""
    before = _fingerprint(shared_demo_path)
    yield f"sqlite:///{shared_demo_path}"
    assert _fingerprint(shared_demo_path) == before, (
        "this test wrote to the shared demo database: give it its own copy (demo_url / app_env)"
    )


@pytest.fixture
def demo_engine(demo_url: str) -> Iterator[Engine]:
    eng = make_engine(demo_url)
    yield eng
    eng.dispose()


@pytest.fixture
def app_env(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the app at a private demo database; returns the path of app.py for AppTest.from_file."""
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    monkeypatch.setenv("SOP_AUTH", "off")
    return APP


@pytest.fixture
def shared_app_env(shared_demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Like ``app_env``, on the shared demo database: for app tests that only read (they must not write)."""
    monkeypatch.setenv("SOP_DATABASE_URL", shared_demo_url)
    monkeypatch.setenv("SOP_AUTH", "off")
    return APP


@pytest.fixture
def throwaway_pg() -> Iterator[ThrowawayPostgres]:
    """A started PostgreSQL cluster of the test's own (see :class:`ThrowawayPostgres`), removed afterwards."""
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
