"""GTP framing functions: preprocessing, command parsing, response formatting."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rlgo.gtp.protocol import Command, clean_line, format_response, parse_command
from rlgo.gtpclient import split_response


@given(st.text())
def test_clean_line_leaves_no_controls_tabs_or_comments(text):
    line = clean_line(text)
    assert "#" not in line and "\t" not in line
    assert all(ch == " " or ord(ch) >= 32 and ord(ch) != 127 for ch in line)
    assert line == line.strip()


@given(st.binary())
def test_clean_line_accepts_any_bytes(data):
    assert isinstance(clean_line(data), str)


@pytest.mark.parametrize("line, expected", [
    ("", None), ("   ", None), ("name", Command(None, "name", ())), ("12 play b D4", Command(12, "play", ("b", "D4"))),
    ("007 name", Command(7, "name", ())), ("3", Command(3, "", ())), ("-1 name", Command(None, "-1", ("name",))),
    ("play  b   D4", Command(None, "play", ("b", "D4"))),
])
def test_parse_command(line, expected):
    assert parse_command(line) == expected


@given(st.one_of(st.none(), st.integers(0, 10**6)), st.booleans(), st.text())
def test_response_is_one_block_ending_in_a_blank_line(cmd_id, ok, text):
    out = format_response(cmd_id, ok, text)
    assert out.endswith("\n\n") and "\n\n" not in out[:-2]
    assert "\t" not in out and "\r" not in out
    assert all(ch == "\n" or ord(ch) >= 32 and ord(ch) != 127 for ch in out)
    good, got_id, _ = split_response(out.split("\n")[0])
    assert good == ok and got_id == cmd_id


def test_response_layout_matches_gnugo():
    assert format_response(None, True) == "= \n\n"
    assert format_response(5, True, "D4") == "=5 D4\n\n"
    assert format_response(5, False, "illegal move") == "?5 illegal move\n\n"
    assert format_response(None, True, "\n  A B\n\n 1 . .\n") == "= \n  A B\n 1 . .\n\n"


@pytest.mark.parametrize("line", ["", "D4", "x=1", " = 2"])
def test_split_response_rejects_non_responses(line):
    with pytest.raises(ValueError):
        split_response(line)
