"""Load test of the web app on loopback: concurrent signed-in practitioners browsing a list, every view audited.

A scratch project gets a DRAFT list of ``--rows`` children (written by the list stage's own functions from a
synthetic cohort), a ledger key, the app's database and ``--users`` practitioner accounts in one team. A real
server (gunicorn, ``webapp.wsgi:application``) serves it on 127.0.0.1; each practitioner signs in with its own
session, then, all starting together, opens the team's list and one listed child's page ``--rounds`` times.
Reported: page times (median, p95, max) per page kind and overall, pages per second, failures, and the audit
check: ``outputs/audit.jsonl`` must hold exactly one ``web_list_view`` / ``web_person_view`` entry per page
served, for the right user, and its keyed chain and anchors must verify (nothing lost, nothing doubled).

Examples:
    python benchmarks/web_load.py                              # 50 practitioners, 200 children, 4 rounds
    python benchmarks/web_load.py --users 50 --rounds 10 --out benchmarks/results/web-load.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = "care_entry"  # a model params.yaml may name (its spec exists); the list itself is synthetic
LIST_FEATURES = ("unauthorised_absence_rate_36m", "attendance_rate_12m", "suspensions_12m", "referrals_36m",
                 "cp_plan_ever", "ae_attendances_12m", "fsm_now", "age_months", "in_social_care_ever")


def synthetic_list(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A DRAFT list of ``rows`` children and its per-person file, made by the list stage's own functions.

    Returns:
        ``(risk_list, person_records)`` as :mod:`pipeline.lists.render` builds them.
    """
    from pipeline.lists.explanations import county_averages, explain_rows, feature_phrasebook
    from pipeline.lists.release import DRAFT_BANNER, Release
    from pipeline.lists.render import build_risk_list, person_records
    from pipeline.sources.registry import person_sources

    rng = np.random.default_rng(seed)
    n = rows * 5  # the scored cohort; the list is its riskiest fifth
    cohort = pd.DataFrame({
        "unauthorised_absence_rate_36m": rng.beta(1, 20, n), "attendance_rate_12m": rng.beta(30, 2, n),
        "suspensions_12m": rng.poisson(0.3, n).astype(float), "referrals_36m": rng.poisson(0.2, n).astype(float),
        "cp_plan_ever": (rng.uniform(size=n) < 0.04).astype(int), "ae_attendances_12m": rng.poisson(0.3, n) * 1.0,
        "fsm_now": (rng.uniform(size=n) < 0.25).astype(int), "age_months": rng.integers(60, 216, n).astype(float),
        "in_social_care_ever": (rng.uniform(size=n) < 0.2).astype(int)})
    contributions = pd.DataFrame(rng.normal(0, 0.4, (n, len(LIST_FEATURES))), columns=list(LIST_FEATURES))
    risk = 1 / (1 + np.exp(-(contributions.sum(axis=1) - 3)))
    order = risk.sort_values(ascending=False).index[:rows]
    book = feature_phrasebook()
    averages = county_averages(cohort, {c: book[c]["kind"] for c in cohort})
    explanations = explain_rows(contributions.loc[order].reset_index(drop=True),
                                cohort.loc[order].reset_index(drop=True), book, averages)
    people = [f"P{i:08d}" for i in order]
    top = pd.DataFrame({"rank": np.arange(1, rows + 1), "person_id": people, "risk": risk[order].to_numpy(),
                        "band": "raised (at least 2 times the average risk)"})
    sources = person_sources()
    def last_records() -> pd.Series:  # a record in the last 2.5 years for 70%, none for the others
        days = pd.Series(pd.to_timedelta(rng.integers(0, 900, rows), unit="D"))
        return (pd.Timestamp("2025-01-01") - days).where(rng.uniform(size=rows) < 0.7).astype("datetime64[us]")

    coverage = pd.DataFrame({"person_id": people, **{f"{s.name}_last_record": last_records() for s in sources}})
    release = Release(draft=True, version="1", approval=DRAFT_BANNER)
    listed = build_risk_list(top, explanations, coverage, release, MODEL, sources, person_index="sha256:" + "0" * 16)
    return listed, person_records(listed, top, explanations, pd.Timestamp("2025-01-16"))


def make_project(root: Path, rows: int) -> list[str]:
    """Write the scratch project (params, ledger key, list files); return the listed tokens."""
    import yaml

    (root / ".secrets").mkdir(parents=True)
    key_file = root / ".secrets" / "ledger.key"
    key_file.write_text(secrets.token_hex(32) + "\n")
    key_file.chmod(0o600)
    (root / "params.yaml").write_text(yaml.safe_dump({"models": [MODEL], "score": {"draft_mode": True}}))
    listed, people = synthetic_list(rows)
    # the list's own entry, as `riskpipe score` writes it before anyone can open the list (MLflow's tables and the
    # ledger experiment are made here too; the app would make them at `migrate`, or before its first entry)
    from ethics.ledger import list_issue_record
    from ethics.ledger_store import AUDIT_LOG, append_to_ledger, ledger_key
    from pipeline.core.paths import project_paths
    from pipeline.lists.render import risk_list_csv

    paths = project_paths(root)
    append_to_ledger(paths, AUDIT_LOG, list_issue_record(
        model=MODEL, model_version="1", approval=listed["approval"].iloc[0], rows=len(listed), draft=True,
        list_sha256=hashlib.sha256(risk_list_csv(listed)).hexdigest(), files=["risk_list.csv", "risk_list.parquet"]),
        ledger_key(paths))
    out = root / "outputs" / "risk_lists" / MODEL
    out.mkdir(parents=True)
    listed.to_csv(out / "risk_list.csv", index=False)
    people.to_parquet(out / "risk_list.parquet")
    return listed["person_token"].tolist()


ACCOUNTS = """
from django.contrib.auth.models import Group, User
from webapp.practice.models import ListAssignment, StaffProfile, Team
from webapp.practice.roles import PRACTITIONER
team, _ = Team.objects.get_or_create(name="Load test team")
ListAssignment.objects.get_or_create(team=team, model={model!r}, locality="")
group, _ = Group.objects.get_or_create(name=PRACTITIONER)
for i in range({users}):
    user, _ = User.objects.get_or_create(username=f"load{{i:03d}}")
    user.set_password({password!r})
    user.save()
    user.groups.set([group])
    StaffProfile.objects.update_or_create(user=user, defaults={{"team": team, "signing_role": ""}})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    """gunicorn on 127.0.0.1:``port``; waits until it answers the sign-in page."""
    import requests

    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen([str(gunicorn), "webapp.wsgi:application", "--bind", f"127.0.0.1:{port}",
                               "--workers", str(workers), "--threads", str(threads), "--timeout", "120"],
                              cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/sign-in/", timeout=30).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"the server did not start; see {log}")


def stop_server(server: subprocess.Popen) -> None:
    """Stop gunicorn (its arbiter stops the workers) and wait for it."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)


def sign_in(base: str, username: str, password: str):
    """A signed-in session (Django's sign-in form, its CSRF token from the form's cookie)."""
    import requests

    session = requests.Session()
    session.get(f"{base}/sign-in/", timeout=60)
    answer = session.post(f"{base}/sign-in/", timeout=60, allow_redirects=False, data={
        "username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    if answer.status_code != 302:
        raise RuntimeError(f"{username} could not sign in (HTTP {answer.status_code})")
    return session


def browse(base: str, sessions: dict[str, object], tokens: list[str], rounds: int, warmup: int = 0) -> list[dict]:
    """Every practitioner at once: the list, then one child's page, ``rounds`` times; one record per page.

    The first ``warmup`` rounds (each worker's first pages compile templates and read the list) are served and
    audited like any other but marked ``warmup``, and left out of the timings.
    """
    results: list[dict] = []
    lock, start = threading.Lock(), threading.Barrier(len(sessions))

    def practitioner(i: int, username: str, session) -> None:
        start.wait()
        for r in range(warmup + rounds):
            token = tokens[(i * (warmup + rounds) + r) % len(tokens)]
            for kind, url in (("list", f"{base}/lists/{MODEL}/"), ("person", f"{base}/lists/{MODEL}/people/{token}/")):
                began = time.perf_counter()
                try:
                    status = session.get(url, timeout=300).status_code
                except Exception as exc:  # noqa: BLE001 - a failed page is a result, not a crash
                    status = f"{type(exc).__name__}"
                with lock:
                    results.append({"user": username, "kind": kind, "status": status, "warmup": r < warmup,
                                    "seconds": time.perf_counter() - began})

    threads = [threading.Thread(target=practitioner, args=(i, u, s)) for i, (u, s) in enumerate(sessions.items())]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ledger_check(root: Path, served: list[dict]) -> dict:
    """Whether the audit ledger holds exactly one entry per page served (by user and kind) and verifies."""
    from ethics.ledger_store import AUDIT_LOG, ledger_key, verify_ledger
    from pipeline.core.paths import project_paths

    paths = project_paths(root)
    lines = paths.audit_log.read_text().splitlines() if paths.audit_log.exists() else []
    entries = [json.loads(line) for line in lines if line.strip()]
    logged = Counter((e.get("user"), e.get("event")) for e in entries)
    expected = Counter((f"web:{p['user']}", f"web_{p['kind']}_view") for p in served if p["status"] == 200)
    views = Counter({k: v for k, v in logged.items() if k[1] in ("web_list_view", "web_person_view")})
    report = verify_ledger(paths, AUDIT_LOG, ledger_key(paths)) if entries else None
    return {"entries": len(entries), "view_entries": sum(views.values()), "pages_served": sum(expected.values()),
            "one_entry_per_page": views == expected, "missing": sum((expected - views).values()),
            "extra": sum((views - expected).values()), "chain_and_anchors_verify": bool(report and report.ok)}


def summarise(results: list[dict], wall: float) -> dict:
    """Timings of the pages after the warm-up; failures counted over every page."""
    ok = [r for r in results if r["status"] == 200 and not r["warmup"]]
    failed = [r for r in results if r["status"] != 200]
    out = {"pages": len(results), "timed_pages": sum(not r["warmup"] for r in results), "failed": len(failed),
           "wall_seconds": round(wall, 2),  # warm-up included, so pages per second counts every page served
           "pages_per_second": round((len(results) - len(failed)) / wall, 2) if wall else None}
    for kind in ("list", "person", "all"):
        times = [r["seconds"] for r in ok if kind == "all" or r["kind"] == kind]
        out[kind] = {"n": len(times), "median_s": round(statistics.median(times), 3) if times else None,
                     "p95_s": round(percentile(times, 95), 3), "max_s": round(max(times), 3) if times else None}
    out["failures"] = dict(Counter(str(r["status"]) for r in failed))
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent signed-in practitioners")
    parser.add_argument("--rows", type=int, default=200, help="children on the list")
    parser.add_argument("--rounds", type=int, default=4, help="timed list + child page visits per practitioner")
    parser.add_argument("--warmup", type=int, default=1, help="untimed (but audited) rounds first")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--out", type=Path, help="write the results as JSON here too")
    parser.add_argument("--keep", action="store_true", help="keep the scratch project (its path is printed)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]  # the machine's own load before the test: other work slows every page
    work = Path(tempfile.mkdtemp(prefix="riskpipe-web-load-"))
    tokens = make_project(work, args.rows)
    env = {**os.environ, "RISKPIPE_ROOT": str(work), "DJANGO_SETTINGS_MODULE": "webapp.settings",
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)  # the scratch project's own SQLite database
    env.pop("MLFLOW_TRACKING_URI", None)  # ledger anchors go to the scratch project's own mlflow.db
    password = secrets.token_urlsafe(16)
    python = [sys.executable, "-m", "webapp.manage"]
    subprocess.run([*python, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*python, "shell", "-c", ACCOUNTS.format(model=MODEL, users=args.users, password=password)],
                   cwd=ROOT, env=env, check=True)
    port = free_port()
    server = start_server(env, port, args.workers, args.threads, work / "server.log")
    try:
        base = f"http://127.0.0.1:{port}"
        sessions = {f"load{i:03d}": sign_in(base, f"load{i:03d}", password) for i in range(args.users)}
        began = time.perf_counter()
        results = browse(base, sessions, tokens, args.rounds, args.warmup)
        wall = time.perf_counter() - began
    finally:
        stop_server(server)
    summary = {"users": args.users, "rows": args.rows, "rounds": args.rounds, "warmup_rounds": args.warmup,
               "server": f"gunicorn {args.workers} workers x {args.threads} threads, SQLite",
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average {load_before:.1f} before",
               **summarise(results, wall), "ledger": ledger_check(work, results)}
    if args.keep:
        summary["project"] = str(work)
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(summary, indent=2)
    sys.stdout.write(text + "\n")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return summary


if __name__ == "__main__":
    result = main()
    ledger = result["ledger"]
    sys.exit(0 if result["failed"] == 0 and ledger["one_entry_per_page"] and ledger["chain_and_anchors_verify"] else 1)
