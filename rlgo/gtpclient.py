"""GTPClient: drive any GTP engine (GNU Go, KataGo, `rlgo gtp`) in a subprocess.

A base module (it knows GTP's text framing, nothing of boards), so that data generation in
rlgo/train and the gtp agent both use it without importing the server side in rlgo/gtp.

Commands are sent with increasing ids; a reader thread collects stdout lines so every
`send` can wait with a timeout. A timeout kills the engine (it would be out of step).
"""
from __future__ import annotations

import collections
import queue
import re
import shlex
import subprocess
import threading
import time

_EOF = None
CLIENT_DEFAULT = object()
"""`send(timeout=CLIENT_DEFAULT)`: use the client's timeout (None means wait forever)."""


class GTPClientError(Exception):
    """Base class of the client's errors."""


class GTPError(GTPClientError):
    """The engine answered `? message`; `.command` and `.message` say which and why."""

    def __init__(self, command: str, message: str):
        self.command, self.message = command, message
        super().__init__(f"GTP command {command!r} failed: {message}")


class GTPTimeout(GTPClientError, TimeoutError):
    """No complete response within the timeout (the engine has been killed)."""


class GTPEngineDied(GTPClientError):
    """The engine exited or closed its output; the message holds its exit code and stderr tail."""


def split_response(first_line: str) -> tuple[bool, int | None, str]:
    """Client side: `=12 D4` -> (True, 12, 'D4'); raises ValueError if it is not a response line."""
    if not first_line or first_line[0] not in "=?":
        raise ValueError(f"not a GTP response line: {first_line!r}")
    match = re.match(r"([=?])(\d*)\s?(.*)", first_line, re.S)
    sign, digits, text = match.groups()
    return sign == "=", int(digits) if digits else None, text


class GTPClient:
    """A GTP engine subprocess. `command`: a shell-like string or an argv list."""

    def __init__(self, command: str | list[str], timeout: float | None = None, stderr_lines: int = 20):
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise GTPClientError("empty GTP engine command")
        self.timeout = timeout
        self._next_id = 1
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr = collections.deque(maxlen=stderr_lines)
        try:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, bufsize=0)
        except OSError as exc:
            raise GTPEngineDied(f"cannot start GTP engine {self.argv[0]!r}: {exc}") from None
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    @property
    def alive(self) -> bool:
        """Whether the engine process is still running."""
        return self.process.poll() is None

    def send(self, command: str, timeout=CLIENT_DEFAULT) -> str:
        """Send one command and return the response text (without '=' and id).

        Raises GTPError ('?' answer), GTPTimeout (killed after `timeout` seconds; None waits
        forever; default: the client's timeout) or GTPEngineDied.
        """
        if not self.alive:
            raise self._died(command)
        cmd_id = self._next_id
        self._next_id += 1
        try:
            self.process.stdin.write(f"{cmd_id} {command}\n".encode("utf-8"))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died(command) from None
        limit = self.timeout if timeout is CLIENT_DEFAULT else timeout
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            ok, resp_id, text = self._read_response(command, deadline, limit)
            if resp_id in (None, cmd_id):
                if not ok:
                    raise GTPError(command, text)
                return text
            # a stale answer (an id we no longer wait for): skip it

    def close(self, timeout: float = 2.0) -> None:
        """Send `quit`, wait briefly, then kill the process if it lingers."""
        if self.alive:
            try:
                self.process.stdin.write(b"quit\n")
                self.process.stdin.flush()
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        """Stop the process at once."""
        if self.alive:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                pipe.close()
            except OSError:
                pass

    def __enter__(self) -> "GTPClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------- private
    def _read_response(self, command: str, deadline: float | None,
                       limit: float | None) -> tuple[bool, int | None, str]:
        lines: list[str] = []
        while True:
            wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                line = self._lines.get(timeout=wait)
            except queue.Empty:
                self.kill()
                raise GTPTimeout(f"GTP engine {self.argv[0]!r} gave no answer to {command!r} "
                                 f"within {limit:g} s") from None
            if line is _EOF:
                self._lines.put(_EOF)  # later sends see the EOF too
                raise self._died(command)
            if not lines and not line.startswith(("=", "?")):
                continue  # blank lines between responses, or debug text some engines print
            if lines and not line.strip():
                break
            lines.append(line)
        ok, resp_id, first = split_response(lines[0])
        return ok, resp_id, "\n".join([first] + lines[1:]).strip("\n").rstrip()

    def _died(self, command: str) -> GTPEngineDied:
        try:
            code = self.process.wait(2)
        except subprocess.TimeoutExpired:
            code = None
        tail = " | ".join(self._stderr)
        return GTPEngineDied(f"GTP engine {self.argv[0]!r} died during {command!r} (exit code {code})"
                             + (f": {tail}" if tail else ""))

    def _read_stdout(self) -> None:
        try:
            for raw in iter(self.process.stdout.readline, b""):
                self._lines.put(raw.decode("utf-8", errors="replace").replace("\r", "").rstrip("\n"))
        except (OSError, ValueError):  # the pipe was closed by kill()
            pass
        self._lines.put(_EOF)

    def _read_stderr(self) -> None:
        try:
            for raw in iter(self.process.stderr.readline, b""):
                self._stderr.append(raw.decode("utf-8", errors="replace").rstrip())
        except (OSError, ValueError):
            pass
