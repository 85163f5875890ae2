"""The kill-and-resume harness both editions' tests share (framework-free).

A child script (``serve``) imports its framework once and then, for each command read from its
standard input, forks a training process: ``slow`` (a pause inside every atomic write, after the
temporary file is written and before it replaces the old one; the process prints ``WRITING``
there), ``fast`` (no pause) or ``whole`` (no resume file: the uninterrupted reference). The
training process prints ``PID n`` and ``READY``; the server prints ``EXIT status`` when it ends.
Forking saves the framework's import (seconds) for each of the many runs.

``kill_until_done`` kills training processes with SIGKILL, half the time at a random moment
after ``READY`` and half the time inside one of its first four writes, checks after each kill
that every file left loads (``check_left``), and lets the last run finish.
"""

import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Kills:
    random: int = 0
    in_write: int = 0
    epochs_done: list = field(default_factory=list)  # epochs saved when each kill landed

    @property
    def total(self) -> int:
        return self.random + self.in_write


class _Lines:
    """Lines of a pipe, with a timeout."""

    def __init__(self, pipe, timeout: float):
        self.fd, self.timeout, self.buffer = pipe.fileno(), timeout, b""

    def next(self) -> str:
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"the child said nothing for {self.timeout} s")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise AssertionError("the child closed its output")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode().strip()

    def until(self, *markers: str) -> str:
        while True:
            line = self.next()
            if line.split(" ")[0] in markers:
                return line


class Server:
    """``python child *args`` as a fork server (see the module's docstring)."""

    def __init__(self, child: Path, args: list, timeout: float = 300):
        tests = str(Path(__file__).parent)  # fork_server, beside this file
        path = os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=path)
        self.process = subprocess.Popen(
            [sys.executable, str(child), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.lines = _Lines(self.process.stdout, timeout)

    def start(self, command: str) -> int:
        self.process.stdin.write(f"{command}\n".encode())
        self.process.stdin.flush()
        return int(self.lines.until("PID").split()[1])

    def exit_status(self) -> int:
        return int(self.lines.until("EXIT").split()[1])

    def run(self, command: str) -> None:
        self.start(command)
        status = self.exit_status()
        assert status == 0, f"the {command} run failed (status {status})"

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.process.stdout.close()


def kill_until_done(server: Server, check_left, kills: int, seed: int = 0, window: float = 2.5):
    """Kill ``kills`` training runs of ``server``, calling ``check_left()`` after each kill (it
    returns the epochs saved so far), then let one run finish. Returns the ``Kills``."""
    rng, done = random.Random(seed), Kills()
    while done.total < kills:
        pid = server.start("slow")
        server.lines.until("READY")
        in_write = rng.random() < 0.5
        if in_write:  # inside the first to fourth write of the run
            for _ in range(rng.randint(1, 4)):
                server.lines.until("WRITING")
        else:
            time.sleep(rng.uniform(0, window))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            raise AssertionError("the run finished before it was killed: give it more epochs")
        status = server.exit_status()
        assert status == -signal.SIGKILL, f"the run ended ({status}) before it was killed"
        done.in_write += in_write
        done.random += not in_write
        done.epochs_done.append(check_left())
    server.run("fast")
    return done


def kill_and_compare(child: Path, trainer: str, folder: Path, left_loads, window: float) -> float:
    """The whole test of one trainer: ``child`` (a fork server taking ``trainer folder``) runs it
    once uninterrupted into ``folder/whole``, then 12 times killed into ``folder/killed`` (each
    kill followed by ``left_loads(folder/killed)``, which loads every file left and returns the
    epochs saved), then to the end. Checks the kills' spread and that no saved epoch or whole file
    was lost; returns the largest weight difference between the two final ``final.npz``."""
    import numpy as np

    killed = folder / "killed"
    killed.mkdir(), (folder / "whole").mkdir()
    server = Server(child, [trainer, folder])
    try:
        server.run("whole")
        kills = kill_until_done(server, lambda: left_loads(killed), 12, len(trainer), window)
    finally:
        server.close()
    assert kills.in_write >= 3 and kills.random >= 3, kills
    assert kills.epochs_done == sorted(kills.epochs_done), f"a kill lost saved epochs: {kills}"
    assert max(kills.epochs_done) > 0, f"no kill landed after an epoch: {kills}"
    assert not [p.name for p in killed.iterdir() if ".part" in p.name], "temporaries left"
    expected, resumed = np.load(folder / "whole/final.npz"), np.load(killed / "final.npz")
    assert sorted(expected) == sorted(resumed)
    largest = max(float(np.abs(expected[k] - resumed[k]).max()) for k in expected)
    print(f"\n{child.name} {trainer}: {kills}, largest difference {largest}")
    return largest
