"""The start-up of Lizzie and Sabaki against `rlgo gtp` as README's GUI section writes it: each GUI's own
command sequence, and its checks of the answers ported from its source (Lizzie 0.7.4
src/main/java/featurecat/lizzie/analysis/{Leelaz,MoveData}.java; Sabaki src/modules/{sabaki,
enginesyncer,analysis}.js and src/setting.js); and the real Lizzie, headless, where it is installed."""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.analysis_formats import parse_kata_line

ROOT = Path(__file__).resolve().parents[1]
SABAKI_ANALYZE = ("analyze", "kata-analyze", "lz-analyze")  # setting.js engines.analyze_commands
SABAKI_GENMOVE = ("genmove_analyze", "kata-genmove_analyze", "lz-genmove_analyze")  # engines.gemove_analyze_commands


class Engine:
    """`rlgo gtp ARGS` in a subprocess; output read line by line, as both GUIs read it."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "cli", "gtp", *args], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, text: str) -> None:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def line(self, timeout: float = 120) -> str:
        line = self.lines.get(timeout=timeout)
        assert line is not None, "the engine exited"
        return line

    def response(self, timeout: float = 120) -> list[str]:
        """The lines of one response up to its blank line (GTP framing), trailing spaces cut."""
        lines = [self.line(timeout).rstrip()]
        while lines[-1] != "":
            lines.append(self.line(timeout).rstrip())
        return lines[:-1]

    def close(self) -> int:
        self.send("quit")
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


# ----------------------------------------------------------------- Lizzie 0.7.4
def lizzie_check(name_line: str, version_line: str) -> tuple[bool, str | None]:
    """Leelaz.parseLine on the answers to `name` and `version`: (isKataGo, the error dialog or None)."""
    params = name_line.strip().split(" ")
    if params[1].startswith("KataGo"):
        return True, None
    version = version_line.strip().split(" ")[1]
    minor = int(version.split(".")[1])
    if minor < 15:
        return False, f"Lizzie requires version 0.15 or later of Leela Zero for analysis (found {version})"
    return False, None


def lizzie_moves(line: str) -> list[dict]:
    """Leelaz.parseInfoKatago + MoveData.fromInfoKatago: split at ' info ', keys until pv, numbers parsed."""
    moves = []
    for var in line[5:].split(" info "):
        data = var.strip().split(" ")
        move, i = {}, 0
        while i < len(data):
            key = data[i]
            if key == "pv":
                move["variation"] = data[i + 1:]
                break
            value = data[i + 1]
            i += 2
            if key == "move":
                move["coordinate"] = value
            elif key == "visits":
                move["playouts"] = int(value)  # Integer.parseInt: must be an integer
            elif key in ("winrate", "scoreMean", "scoreStdev", "prior", "lcb"):
                move[key] = float(value)  # Double.parseDouble
        moves.append(move)
    return moves


def lizzie_estimate(line: str) -> list[float]:
    """Leelaz.parseLine with showKataGoEstimate: the doubles after the word 'ownership'."""
    return [float(x) for x in line.strip().split("ownership")[1].strip().split(" ")]


def test_lizzie_startup_with_the_readme_command():
    engine = Engine("--agent", "mcts:time=5", "--compat", "katago")
    for n, command in enumerate(("name", "version", "boardsize 19", "komi 7.5"), 1):
        engine.send(f"{n} {command}")  # Leelaz.startEngine: name, version, boardSize, komi
    answers = [engine.response() for _ in range(4)]
    assert [a[0].split(" ")[0] for a in answers] == ["=1", "=2", "=3", "=4"]  # every answer carries its id
    is_kata, dialog = lizzie_check(answers[0][0], answers[1][0])
    assert is_kata and dialog is None
    engine.send("5 kata-analyze 10 ownership true")  # togglePonder -> ponder() for a KataGo engine
    assert engine.line() == "=5"
    seen = []
    for _ in range(3):
        line = engine.line()
        assert line.startswith("info")
        moves = lizzie_moves(line)
        assert moves and all(0 <= m["winrate"] <= 1 and "scoreMean" in m and m["variation"] for m in moves)
        assert len(lizzie_estimate(line)) == 19 * 19
        seen.append(sum(m["playouts"] for m in moves))
    assert seen[-1] > seen[0]  # the search keeps growing
    engine.send("6 name")  # Lizzie ends pondering with `name`
    while engine.line() != "":
        pass  # info lines up to the end of the stream
    assert engine.response() == ["=6 KataGo-compatible rlgo"]
    engine.send("7 play b Q16")
    engine.send("8 genmove w")
    assert engine.response() == ["=7"]
    assert re.fullmatch(r"=8 ([A-HJ-T]\d+|pass|resign)", engine.response()[0])
    assert engine.close() == 0


def test_lizzie_without_the_option_would_ask_for_leela_zero():
    """Why README passes --compat katago: any other name is taken for Leela Zero and rlgo's version fails."""
    engine = Engine("--agent", "random")
    engine.send("1 name")
    engine.send("2 version")
    name, version = engine.response()[0], engine.response()[0]
    assert lizzie_check(name, version) == (False, "Lizzie requires version 0.15 or later of Leela Zero for "
                                                  f"analysis (found {version.split(' ')[1]})")
    assert engine.close() == 0


# ----------------------------------------------------------------- Sabaki
def sabaki_variations(line: str, winrate_format: str) -> list[dict]:
    """analysis.js parseAnalysis."""
    out = []
    for x in re.split(r"\s*info\s+", line)[1:]:
        x = x.strip()
        match = re.search(r"(pass|[A-Za-z]\d+)(\s+(pass|[A-Za-z]\d+))*$", x)
        if match is None:
            continue
        pass_index = match.group(0).find("pass")
        pv_text = match.group(0) if pass_index < 0 else match.group(0)[:pass_index]
        tokens = x[:match.start()].strip().split()[:-1]
        values = dict(zip(tokens[0::2], tokens[1::2]))
        if "move" not in values or "winrate" not in values or not re.fullmatch(r"[A-Za-z]\d+", values["move"]):
            continue
        winrate = float(values["winrate"])
        out.append({"move": values["move"], "visits": float(values.get("visits", "nan")),
                    "winrate": winrate * 100 if winrate_format == "float" else winrate / 100,
                    "scoreLead": float(values["scoreLead"]) if "scoreLead" in values else None,
                    "moves": [t for t in pv_text.split() if len(t) >= 2]})
    return out


def test_sabaki_startup_analysis_and_genmove_with_the_readme_command():
    engine = Engine("--agent", "mcts:time=2")
    for n, command in enumerate(("name", "version", "protocol_version", "list_commands"), 1):
        engine.send(f"{n} {command}")  # enginesyncer.js on 'started'
    answers = [engine.response() for _ in range(4)]
    commands = [answers[3][0][3:]] + answers[3][1:]  # '=4 first' then one name a line
    analyze = next(c for c in SABAKI_ANALYZE if c in commands)
    genmove = next(c for c in SABAKI_GENMOVE if c in commands)
    assert (analyze, genmove) == ("kata-analyze", "kata-genmove_analyze")
    for n, command in enumerate(("boardsize 9", "clear_board", "komi 6.5", "play B E5"), 5):
        engine.send(f"{n} {command}")
        assert engine.response() == [f"={n}"]
    engine.send(f"9 {analyze} W 50")  # sabaki.js analyzeMove: [color, board.analysis_interval]
    assert engine.line() == "=9"
    fmt = "float" if analyze.startswith("kata") else "integer"
    for _ in range(2):
        variations = sabaki_variations(engine.line(), fmt)
        assert variations and all(0 <= v["winrate"] <= 100 and v["scoreLead"] is not None for v in variations)
    engine.send(f"10 {genmove} W 50")  # sabaki.js generateMove: resolves on the line starting 'play '
    while engine.line() != "":
        pass  # the end of the analysis stream
    assert engine.line() == "=10"
    while not (line := engine.line()).startswith("play "):
        assert sabaki_variations(line, "float")
    assert re.fullmatch(r"play ([A-HJ]\d|pass|resign)", line)
    assert engine.line() == ""
    assert engine.close() == 0


@pytest.mark.parametrize("compat, name", [("none", "rlgo"), ("katago", "KataGo-compatible rlgo")])
def test_compat_option_sets_only_the_name(compat, name):
    engine = Engine("--agent", "random", "--compat", compat)
    engine.send("1 name")
    assert engine.response() == [f"=1 {name}"]
    engine.send("2 version")
    assert re.fullmatch(r"=2 \d+\.\d+\.\d+", engine.response()[0])
    assert engine.close() == 0


# ----------------------------------------------------------------- the real Lizzie, when installed
LIZZIE_JAR = Path("/usr/share/java/lizzie.jar")  # Debian's liblizzie-java 0.7.4


@pytest.mark.slow
@pytest.mark.skipif(not (LIZZIE_JAR.exists() and shutil.which("xvfb-run") and shutil.which("java")),
                    reason="needs Lizzie (apt-get install liblizzie-java xvfb xauth) and java")
def test_real_lizzie_runs_kata_analyze_with_the_readme_command(tmp_path):
    """Lizzie itself, headless, with README's engine-command: it must get past its name/version checks
    and run kata-analyze; the engine's side of the conversation is taped and parsed strictly."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "rlgo"  # `rlgo` as README writes it, taping the engine's input and output
    wrapper.write_text(f"#!/bin/sh\nexport PYTHONPATH={ROOT}\ntee -a {tmp_path}/in.txt | "
                       f"{sys.executable} -m cli \"$@\" | tee -a {tmp_path}/out.txt\n")
    wrapper.chmod(0o755)
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / ".config"),
               PATH=f"{bin_dir}:{os.environ['PATH']}")
    config = tmp_path / ".config" / "leela-zero" / "lizzie-config.txt"

    def lizzie() -> subprocess.Popen:
        return subprocess.Popen(["xvfb-run", "-a", "java", f"-Duser.home={tmp_path}", "-jar", str(LIZZIE_JAR)],
                                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def wait_for(condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.2)
        return False

    def stop(proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)

    first = lizzie()  # the first start writes Lizzie's default config
    try:
        assert wait_for(config.exists, 120)
        time.sleep(1)
    finally:
        stop(first)
    settings = json.loads(config.read_text())
    settings["leelaz"]["engine-command"] = "rlgo gtp --agent mcts:time=5 --compat katago"
    settings["ui"]["show-katago-estimate"] = True
    config.write_text(json.dumps(settings))
    out = tmp_path / "out.txt"

    def info_lines() -> list[str]:
        text = out.read_text() if out.exists() else ""
        return [line for line in text.split("\n")[:-1] if line.startswith("info")]

    proc = lizzie()
    try:
        assert wait_for(lambda: len(info_lines()) >= 3, 240), (tmp_path / "in.txt").read_text()
    finally:
        stop(proc)
    sent = (tmp_path / "in.txt").read_text().splitlines()
    assert sent[:5] == ["1 name", "2 version", "3 boardsize 19", "4 komi 7.5", "5 kata-analyze 10 ownership true"]
    assert out.read_text().startswith("=1 KataGo-compatible rlgo\n\n=2 ")
    for line in info_lines():
        parsed = parse_kata_line(line, 19)
        assert parsed["infos"] and len(parsed["ownership"]) == 361
