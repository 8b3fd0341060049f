"""Password sign-in benchmark (T6.2): latency of `password_login` (Argon2id verify plus the session
writes) on SQLite, alone and with 8 sign-ins at once (at most 4 hash at a time), and the timing gap
between a wrong password for a known user and any password for an unknown email (the dummy verify).

Usage: `.venv/bin/python bench/login.py [--logins 40]`. Prints p50/p95 in ms and the gap in percent
(target: p95 <= 300 ms alone on 2 cores, gap < 10 %).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session  # noqa: E402

from runtime.auth.passwords import hash_password  # noqa: E402
from runtime.auth.setup import complete_setup  # noqa: E402
from runtime.auth.signin import password_login  # noqa: E402
from runtime.store import ensure_local_workspace, make_engine, upgrade_database  # noqa: E402

EMAIL, PASSWORD = "owner@example.com", "correct horse battery staple"


def timed_ms(call: object, *args: object) -> float:
    start = time.perf_counter()
    call(*args)  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20)
    return f"p50 {statistics.median(samples):6.1f} ms   p95 {cuts[18]:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=40)
    logins = parser.parse_args().logins
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade_database(url)
        engine = make_engine(url)
        with Session(engine) as session:
            ensure_local_workspace(session)
            complete_setup(session, EMAIL, hash_password(PASSWORD), "Bench", "127.0.0.1")
            session.commit()
        right = [timed_ms(password_login, engine, EMAIL, PASSWORD, "127.0.0.1", None) for _ in range(logins)]
        print(f"sign-in, one at a time:        {percentiles(right)}")
        with ThreadPoolExecutor(8) as pool:
            start = time.perf_counter()
            waits = list(pool.map(lambda _: timed_ms(password_login, engine, EMAIL, PASSWORD, "127.0.0.1", None),
                                  range(logins)))  # fmt: skip
            wall = time.perf_counter() - start
        print(f"sign-in, 8 at once:            {percentiles(waits)}   ({logins / wall:.1f} sign-ins/s)")
        wrong: list[float] = []
        unknown: list[float] = []
        for _ in range(logins):  # interleaved, so drift in machine load hits both alike
            wrong.append(timed_ms(password_login, engine, EMAIL, "wrong password", "127.0.0.1", None))
            unknown.append(timed_ms(password_login, engine, "nobody@example.com", "x", "127.0.0.1", None))
        gap = abs(statistics.median(wrong) - statistics.median(unknown)) / statistics.median(wrong) * 100
        print(f"wrong password (known user):   {percentiles(wrong)}")
        print(f"unknown email (dummy verify):  {percentiles(unknown)}")
        print(f"timing gap of the medians:     {gap:.1f} %")
        engine.dispose()


if __name__ == "__main__":
    main()
