"""Helpers shared by the tests: catalogue names, the CLI as a user runs it, tools CI must have."""

from __future__ import annotations

import atexit
import json
import locale
import os
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["softmax-jacobian", "cross-entropy", "softmax-cross-entropy", "log-softmax-cross-entropy",
         "batch-cross-entropy", "linear-softmax-cross-entropy"]
# Every (name, method) the catalogue can show: the linear layer also goes by differentials.
ROUTES = [(name, "index") for name in NAMES] + [("linear-softmax-cross-entropy", "differentials")]


def require_tool(available: bool, what: str) -> None:
    """Skip locally when a tool is missing; under CI=true a missing tool is a failure, never a skip."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true but missing")
    pytest.skip(f"{what} not installed")


def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None, timeout: float = 120,
            **process: object) -> subprocess.CompletedProcess:
    """Run the command line as a user would: ``python -m derive ARGS`` in its own process, with its own standard
    input, output and error, working directory, environment and exit code.

    The process is forked from a Python that has already imported derive and SymPy, and nothing else (no
    derivation built, no cache filled): the same state as a fresh ``python -m derive`` once its imports are done,
    without paying about a second of imports per call. ``DERIVE_TEST_COLD_CLI=1`` starts every process from
    scratch instead; tests of start-up itself (``--help`` without SymPy, the template cache) always do, and
    test_cli checks that both ways give the same results.

    ``stdin`` is the text on standard input (none: /dev/null); ``process`` may also give ``stdin_bytes`` or
    ``stdin_path`` instead, ``text=False`` for output as bytes, ``memory`` (an address-space limit in bytes) and
    ``umask``."""
    if os.environ.get("DERIVE_TEST_COLD_CLI") == "1":
        return run_cold(*args, stdin=stdin, cwd=cwd, timeout=timeout, **process)
    return _WARM.run(list(args), cwd or ROOT, timeout, stdin=stdin, **process)


def run_cold(*args: str, stdin: str | None = None, cwd: Path | None = None, timeout: float = 120,
             stdin_bytes: bytes | None = None, stdin_path: str | None = None, text: bool = True,
             memory: int | None = None, umask: int | None = None) -> subprocess.CompletedProcess:
    """``python -m derive ARGS`` started from scratch (the console script does the same); options as run_cli."""
    def limits() -> None:
        if memory is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if umask is not None:
            os.umask(umask)
    data = stdin.encode(locale.getpreferredencoding(False)) if stdin is not None else stdin_bytes
    with open(stdin_path or os.devnull, "rb") as handle:
        done = subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, input=data,
                              stdin=None if data is not None else handle, cwd=cwd or ROOT, timeout=timeout,
                              preexec_fn=limits if memory is not None or umask is not None else None)
    if text:
        done.stdout, done.stderr = _text(done.stdout), _text(done.stderr)
    return done


def _text(data: bytes) -> str:
    """Output as subprocess.run(text=True) decodes it."""
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


# The forking server: one per test process, started on first use. It reads one request per line (JSON) and
# forks a child that sets up the request's process state and runs derive's __main__ exactly as ``python -m``
# does; it answers "pid N" when the child starts and "exit STATUS" when it has been reaped.
_SERVER = r'''
import json, os, sys
requests, answers = os.fdopen(os.dup(0), "r"), os.fdopen(os.dup(1), "w")
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 0); os.dup2(null, 1)
import runpy, random, traceback
import sympy
import derive, derive.cli, derive.api, derive.plans, derive.render, derive.render.certificate  # noqa: F401
import derive.embed, derive.reading, derive.checking.judge  # noqa: F401
answers.write("ready\n"); answers.flush()
for line in requests:
    job = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(os.open(job["stdin"] or os.devnull, os.O_RDONLY), 0)
            for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            os.closerange(3, 1 << 16)
            if job["memory"] is not None:
                import resource
                resource.setrlimit(resource.RLIMIT_AS, (job["memory"], job["memory"]))
            if job["umask"] is not None:
                os.umask(job["umask"])
            os.chdir(job["cwd"])
            os.environ.clear(); os.environ.update(job["env"])
            sys.path[0] = os.getcwd()                     # as python -m sets it
            sys.argv = ["-m", *job["argv"]]
            random.seed()                                 # a fresh process draws its own seed
            try:
                runpy.run_module("derive", run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as stop:                    # as the interpreter reports it
                if stop.code is None:
                    code = 0
                elif isinstance(stop.code, int):
                    code = stop.code & 0xFF
                else:
                    print(stop.code, file=sys.stderr); code = 1
            except BaseException:
                traceback.print_exc(); code = 1
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    code = code or 120
        finally:
            os._exit(code)
    answers.write(f"pid {pid}\n"); answers.flush()
    _, status = os.waitpid(pid, 0)
    answers.write(f"exit {os.waitstatus_to_exitcode(status)}\n"); answers.flush()
'''


class _Warm:
    """The forking server of this test process (see run_cli)."""

    def __init__(self) -> None:
        self.server: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        if self.server is None or self.server.poll() is not None:
            self.server = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, cwd=ROOT, text=True, bufsize=1)
            assert self.server.stdout.readline() == "ready\n", "the CLI server did not start"
            atexit.register(self.stop)
        return self.server

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.stdin.close()
            self.server.wait(timeout=30)

    def _answer(self, server: subprocess.Popen, timeout: float | None) -> str | None:
        if timeout is not None and not select.select([server.stdout], [], [], timeout)[0]:
            return None
        line = server.stdout.readline()
        assert line, "the CLI server died"
        return line.split()[1]

    def run(self, argv: list[str], cwd: Path, timeout: float, stdin: str | None = None,
            stdin_bytes: bytes | None = None, stdin_path: str | None = None, text: bool = True,
            memory: int | None = None, umask: int | None = None) -> subprocess.CompletedProcess:
        server = self.start()
        with tempfile.TemporaryDirectory(prefix="derive-cli-") as scratch:
            files = {name: os.path.join(scratch, name) for name in ("stdin", "stdout", "stderr")}
            if stdin is not None:
                stdin_bytes = stdin.encode(locale.getpreferredencoding(False))  # as subprocess.run(text=True)
            if stdin_bytes is not None:
                Path(files["stdin"]).write_bytes(stdin_bytes)
                stdin_path = files["stdin"]
            job = {"argv": argv, "cwd": str(cwd), "env": dict(os.environ), "stdin": stdin_path,
                   "stdout": files["stdout"], "stderr": files["stderr"], "memory": memory, "umask": umask}
            server.stdin.write(json.dumps(job) + "\n")
            server.stdin.flush()
            pid = int(self._answer(server, None))
            code = self._answer(server, timeout)
            if code is None:
                os.kill(pid, signal.SIGKILL)
                self._answer(server, None)
            out, err = (Path(files[name]).read_bytes() for name in ("stdout", "stderr"))
        if text:
            out, err = _text(out), _text(err)
        command = [sys.executable, "-m", "derive", *argv]
        if code is None:
            raise subprocess.TimeoutExpired(command, timeout, out, err)
        return subprocess.CompletedProcess(command, int(code), out, err)


_WARM = _Warm()
