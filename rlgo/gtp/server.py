"""The GTP read-eval-print loop: bytes in, framed responses out, analysis streams in between."""
from __future__ import annotations

import sys
import threading
from typing import BinaryIO, TextIO

from rlgo.gtp.engine import ANALYZE_COMMANDS, GENMOVE_ANALYZE_COMMANDS, GTPEngine
from rlgo.gtp.protocol import MAX_LINE_BYTES, GTPCommandError, clean_line, format_response, parse_command


def read_line(infile: BinaryIO) -> tuple[bytes | None, bool]:
    """(line without its newline, too_long); (None, False) at EOF. Overlong lines are consumed whole."""
    raw = infile.readline(MAX_LINE_BYTES + 1)
    if not raw:
        return None, False
    if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
        return raw.rstrip(b"\n"), len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES
    while raw and not raw.endswith(b"\n"):
        raw = infile.readline(MAX_LINE_BYTES)
    return b"", True


def serve(engine: GTPEngine, infile: BinaryIO | None = None, outfile: TextIO | None = None) -> int:
    """Answer commands until `quit` or EOF; returns 0. Analysis streams end at the next line read."""
    infile = infile if infile is not None else sys.stdin.buffer
    outfile = outfile if outfile is not None else sys.stdout
    lock = threading.Lock()

    def write(text: str) -> None:
        with lock:
            outfile.write(text)
            outfile.flush()

    stream = None
    while not engine.quit:
        raw, too_long = read_line(infile)
        if stream is not None:
            stream.stop()
            if stream.error is not None:
                print(f"rlgo gtp: analysis failed: {stream.error}", file=sys.stderr)
            write("\n")
            stream = None
        if raw is None:
            break
        if too_long:
            write(format_response(None, False, f"line too long (over {MAX_LINE_BYTES} bytes)"))
            continue
        cmd = parse_command(clean_line(raw))
        if cmd is None:
            continue
        if cmd.name in ANALYZE_COMMANDS:
            try:
                stream = engine.analyze(cmd, write)
            except GTPCommandError as exc:
                write(format_response(cmd.id, False, str(exc)))
                continue
            write(format_response(cmd.id, True).rstrip("\n").rstrip() + "\n")
            stream.start()
            continue
        if cmd.name in GENMOVE_ANALYZE_COMMANDS:
            genmove_analyze(engine, cmd, write)
            continue
        ok, text = engine.handle(cmd)
        write(format_response(cmd.id, ok, text))
    engine.agent.close()
    return 0


def genmove_analyze(engine: GTPEngine, cmd, write) -> None:
    """`=id`, info lines while genmove thinks (the input is not read meanwhile), the last analysis,
    then `play MOVE` and the blank line (KataGo's lz-/kata-genmove_analyze)."""
    try:
        stream, genmove = engine.genmove_analyze(cmd, write)
    except GTPCommandError as exc:
        write(format_response(cmd.id, False, str(exc)))
        return
    write(format_response(cmd.id, True).rstrip("\n").rstrip() + "\n")
    stream.start()
    try:
        ok, move = engine.handle(genmove)
    finally:
        stream.stop()
    last = stream.line() if stream.error is None else ""
    if last and last != stream.last_line:
        write(last + "\n")
    if ok:
        write(f"play {move}\n\n")
    else:  # the response has begun with '=': the failure goes to stderr, the response ends without a move
        print(f"rlgo gtp: {cmd.name} failed: {move}", file=sys.stderr)
        write("\n")
