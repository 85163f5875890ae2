"""The child side of ``kill_resume``: ``serve(train)`` forks ``train(resume, slow)`` for each
command read from standard input (framework-free; the edition's child imports its framework
first, so each fork starts with it loaded)."""

import os
import sys
import time

from companion import files


def _pause_in_writes() -> None:
    """Every atomic write prints WRITING and pauses after its temporary file is written."""
    whole = files.atomic_write

    def slow(path, write, what="file"):
        def pausing(tmp):
            write(tmp)
            print("WRITING", flush=True)
            time.sleep(0.3)

        return whole(path, pausing, what)

    files.atomic_write = slow


def serve(train) -> None:
    for command in sys.stdin:
        command = command.strip()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                print(f"PID {os.getpid()}", flush=True)
                if command == "slow":
                    _pause_in_writes()
                print("READY", flush=True)
                train(resume=command != "whole")
                status = 0
            finally:
                sys.stdout.flush()
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f"EXIT {code}", flush=True)
