"""`trellis cluster` keeps its processes running: one that ends on its own (a killed worker) is started
again while the others go on; one that ends right after starting stops the cluster with its name."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from runtime.cli_cluster import CRASH_LOOP_S, setup_lines, supervise
from runtime.cluster import Cluster, Member, start


def member(name: str, command: list[str], tmp_path: Path, started_s_ago: float) -> Member:
    log = tmp_path / f"{name}.log"
    return Member(name, start(name, command, {**os.environ}, log), log, command=command, env={**os.environ},
                  started_at=time.monotonic() - started_s_ago)  # fmt: skip


def test_a_killed_worker_is_started_again_and_the_others_go_on(tmp_path: Path) -> None:
    workers = [member(f"worker-{n}", ["sleep", "60"], tmp_path, CRASH_LOOP_S + 1) for n in (1, 2)]
    cluster = Cluster(workers)
    killed, other = workers[0].process, workers[1].process
    try:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=5)
        said: list[str] = []

        assert supervise(cluster, said.append)
        assert said == [f"worker-1 exited with code -9; starting it again (log {workers[0].log})"]
        assert workers[0].process.pid != killed.pid and workers[0].process.poll() is None
        assert workers[1].process is other and other.poll() is None
    finally:
        for worker in workers:
            worker.process.kill()
            worker.process.wait()


def test_a_process_ending_right_after_its_start_stops_the_cluster(tmp_path: Path) -> None:
    broken = member("scheduler", ["false"], tmp_path, 0)
    ended = broken.process
    ended.wait(timeout=5)
    said: list[str] = []

    assert not supervise(Cluster([broken]), said.append)
    assert said and said[0].startswith("scheduler exited with code 1 right after starting")
    assert broken.process is ended  # not started again


def test_only_this_start_s_setup_link_is_printed(tmp_path: Path) -> None:
    log = tmp_path / "web-1.log"
    log.write_text("==> web-1: trellis serve\nCreate the owner account: http://x/setup?token=old\n"
                   "==> web-1: trellis serve\nTrellis is ready at http://x\n")  # fmt: skip
    web = Member("web-1", subprocess.Popen(["true"]), log)
    web.process.wait()

    assert setup_lines(Cluster([web])) == []
    log.write_text(log.read_text() + "==> web-1: trellis serve\nCreate the owner account: http://x/setup?token=new\n")
    assert setup_lines(Cluster([web])) == ["Create the owner account: http://x/setup?token=new"]
