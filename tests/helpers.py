"""Helpers shared by the tests: catalogue names, the CLI as a user runs it, tools CI must have."""

from __future__ import annotations

import atexit
import json
import locale
import os
import shlex
import signal
import socket
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


# The forking server: one per test process, started on first use. It listens on a Unix socket; for each
# connection it forks a handler that receives the request (JSON) with the three descriptors that become the
# child's standard input, output and error, forks the child, answers "pid N", reaps the child and answers
# "exit CODE". The child sets up the request's process state and runs derive's __main__ as ``python -m`` does.
_SERVER = r"""
import json, os, signal, socket, sys
null = os.open(os.devnull, os.O_RDWR)
ready = os.fdopen(os.dup(1), "w")
os.dup2(null, 0); os.dup2(null, 1)
import random, runpy, traceback
import sympy
import derive, derive.cli, derive.api, derive.plans, derive.render, derive.render.certificate  # noqa: F401
import derive.embed, derive.reading, derive.checking.judge  # noqa: F401


def run(job, descriptors):
    code = 1
    try:
        for target, fd in enumerate(descriptors):
            os.dup2(fd, target)
        os.closerange(3, 1 << 16)
        if job["memory"] is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (job["memory"], job["memory"]))
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


def handle(connection):
    data, descriptors, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    while not data.endswith(b"\n"):
        more = connection.recv(1 << 16)
        if not more:
            return
        data += more
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        connection.close()
        run(json.loads(data), descriptors)
    for fd in descriptors:
        os.close(fd)
    connection.sendall(f"pid {pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    connection.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())


def reap(block=False):  # wait for finished handlers: their time counts as this process's children's
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop(*_):
    raise SystemExit(0)


listener = socket.socket(socket.AF_UNIX)
listener.bind(sys.argv[1])
listener.listen(64)
listener.settimeout(1.0)
parent = os.getppid()
signal.signal(signal.SIGTERM, stop)
ready.write("ready\n"); ready.close()
try:
    while os.getppid() == parent:                     # a test process that died leaves no server behind
        reap()
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        connection.setblocking(True)
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                handle(connection)
            finally:
                os._exit(0)
        connection.close()
finally:
    reap(block=True)
"""

# What a command started from the README's shell sends: its own arguments, directory, environment, umask and
# standard streams; it exits with the code the server reports.
_CLIENT = r"""
import json, os, socket, sys
mask = os.umask(0); os.umask(mask)
job = {"argv": sys.argv[2:], "cwd": os.getcwd(), "env": dict(os.environ), "memory": None, "umask": mask}
connection = socket.socket(socket.AF_UNIX)
connection.connect(sys.argv[1])
socket.send_fds(connection, [json.dumps(job).encode() + b"\n"], [0, 1, 2])
answers = connection.makefile("r")
answers.readline()
code = int(answers.readline().split()[1])
sys.exit(code if code >= 0 else 128 - code)
"""


class _Warm:
    """The forking server of this test process (see run_cli)."""

    def __init__(self) -> None:
        self.server: subprocess.Popen | None = None
        self.address = ""

    def start(self) -> str:
        """The address of the server, started if it is not running."""
        if self.server is None or self.server.poll() is not None:
            self.address = os.path.join(tempfile.mkdtemp(prefix="derive-cli-"), "socket")
            self.server = subprocess.Popen([sys.executable, "-c", _SERVER, self.address], stdout=subprocess.PIPE,
                                           stdin=subprocess.DEVNULL, cwd=ROOT, text=True)
            assert self.server.stdout.readline() == "ready\n", "the CLI server did not start"
            atexit.register(self.stop, self.server, self.address)
        return self.address

    @staticmethod
    def stop(server: subprocess.Popen, address: str) -> None:
        server.terminate()
        server.wait()
        Path(address).unlink(missing_ok=True)
        os.rmdir(os.path.dirname(address))

    def shim(self, folder: Path) -> Path:
        """A ``derive`` command in ``folder`` for shells, which the server runs."""
        script = folder / "derive"
        script.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -S -c {shlex.quote(_CLIENT)} "
                          f"{shlex.quote(self.start())} \"$@\"\n")
        script.chmod(0o755)
        return script

    def run(self, argv: list[str], cwd: Path, timeout: float, stdin: str | None = None,
            stdin_bytes: bytes | None = None, stdin_path: str | None = None, text: bool = True,
            memory: int | None = None, umask: int | None = None) -> subprocess.CompletedProcess:
        address = self.start()
        if umask is None:  # a child inherits its parent's
            umask = os.umask(0)
            os.umask(umask)
        with tempfile.TemporaryDirectory(prefix="derive-cli-") as scratch:
            files = {name: os.path.join(scratch, name) for name in ("stdin", "stdout", "stderr")}
            if stdin is not None:
                stdin_bytes = stdin.encode(locale.getpreferredencoding(False))  # as subprocess.run(text=True)
            if stdin_bytes is not None:
                Path(files["stdin"]).write_bytes(stdin_bytes)
                stdin_path = files["stdin"]
            job = {"argv": argv, "cwd": str(cwd), "env": dict(os.environ), "memory": memory, "umask": umask}
            descriptors = [os.open(stdin_path or os.devnull, os.O_RDONLY)] + \
                [os.open(files[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) for name in ("stdout", "stderr")]
            with socket.socket(socket.AF_UNIX) as connection:
                try:
                    connection.connect(address)
                    socket.send_fds(connection, [json.dumps(job).encode() + b"\n"], descriptors)
                finally:
                    for fd in descriptors:
                        os.close(fd)
                answers = connection.makefile("rb")
                pid = int(answers.readline().split()[1])
                connection.settimeout(timeout)
                try:
                    code: int | None = int(answers.readline().split()[1])
                except TimeoutError:
                    code = None
                    os.kill(pid, signal.SIGKILL)
            out, err = (Path(files[name]).read_bytes() for name in ("stdout", "stderr"))
        if text:
            out, err = _text(out), _text(err)
        command = [sys.executable, "-m", "derive", *argv]
        if code is None:
            raise subprocess.TimeoutExpired(command, timeout, out, err)
        return subprocess.CompletedProcess(command, code, out, err)


_WARM = _Warm()


def derive_command(folder: Path) -> Path:
    """A ``derive`` executable in ``folder`` for shell examples (run as run_cli runs it; DERIVE_TEST_COLD_CLI=1:
    ``python -m derive``)."""
    if os.environ.get("DERIVE_TEST_COLD_CLI") == "1":
        script = folder / "derive"
        script.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m derive \"$@\"\n")
        script.chmod(0o755)
        return script
    return _WARM.shim(folder)
