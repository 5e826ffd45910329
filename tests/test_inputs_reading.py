"""Issue 13, reading inputs: only regular files, bounded before reading; tags, control characters
and odd ``extends:`` names are located exit-2 problems with a hint, never a traceback or a hang."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import LOCATED, SCENARIOS, child_of_baseline, expect_bad
from sim.core.errors import BadInput
from sim.core.yamlio import MAX_BYTES, load_file, load_text, read_regular


def _problems(path) -> list:
    with pytest.raises(BadInput) as exc:
        load_file(path)
    return exc.value.problems


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_before_reading(device):
    (p,) = _problems(device)
    assert "not a regular file" in p.message and "character device" in p.message and p.hint


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)
    (p,) = _problems(fifo)       # would block for ever in open() if it were opened for reading
    assert "FIFO" in p.message and p.hint


def test_a_fifo_scenario_exits_2(cli, tmp_path):
    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)
    expect_bad(cli, [fifo], tmp_path / "out", "not a regular file")


def test_a_file_over_the_size_bound_is_not_read(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_BYTES + 1))
    (p,) = _problems(big)
    assert "larger than" in p.message
    with pytest.raises(BadInput):
        read_regular(big, max_bytes=10)


def test_nul_byte_and_overlong_names_are_refused_briefly(tmp_path):
    for name in ["a\x00b.yaml", "a" * 100_000 + ".yaml"]:
        (p,) = _problems(name)
        assert len(str(p)) < 1000, len(str(p))
        assert p.hint


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['true']", "!!python/name:os.system",
                                 "!foo bar", "!<tag:evil> x", "!!binary aGk="])
def test_unknown_and_python_tags_are_located(cli, write, tmp_path, tag):
    p = write("s.yaml", child_of_baseline(f"title: {tag}\n"))
    err = expect_bad(cli, [p], tmp_path / "out", "is not allowed", file=p, line=3)
    assert "ConstructorError" not in err


@pytest.mark.parametrize("tagged", ["!!int 'x'", "!!timestamp x", "!!float 'y'", "!!bool maybe"])
def test_a_tagged_value_that_cannot_be_built_is_located(tagged):
    with pytest.raises(BadInput) as exc:
        load_text(f"a: 1\nb: {tagged}\n", "f.yaml")
    (p,) = exc.value.problems
    assert (p.line, p.col) == (2, 4) and p.hint


@pytest.mark.parametrize("char", ["\x01", "\x06", "\x0b", "\x1f", "\x7f", "\x9b", "\ufffe"])
def test_control_characters_are_located_where_they_are(char):
    text = "id: x\ntitle: ok\ndescription: ab" + char + "cd\n"
    with pytest.raises(BadInput) as exc:
        load_text(text, "f.yaml")
    (p,) = exc.value.problems
    assert (p.line, p.col) == (3, 16), str(p)
    assert "control character" in p.message and p.hint
    assert "\n" not in str(p) and char not in str(p)


def test_control_character_through_the_cli(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("title: ok\ndescription: ab\x06cd\n"))
    expect_bad(cli, [p], tmp_path / "out", "control character", file=p, line=4)


def test_bad_utf8_is_located(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_bytes(b"id: x\ntitle: \xff\n")
    (p,) = _problems(f)
    assert p.line == 2 and "UTF-8" in p.message


@pytest.mark.parametrize("target", ["a\\0b.yaml", "a" * 5000 + ".yaml"])
def test_extends_nul_or_long_name_exits_2_with_a_bounded_message(cli, write, tmp_path, target):
    p = write("s.yaml", f'extends: "{target}"\nid: t\n')
    err = expect_bad(cli, [p], tmp_path / "out", "extends:", file=p, line=1)
    assert len(err) < 2000, len(err)


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
def test_extends_a_device_exits_2(cli, write, tmp_path, target):
    p = write("s.yaml", f"extends: {target}\nid: t\n")
    code, _, err = cli("validate", p)
    assert code == 2 and "Traceback" not in err
    assert LOCATED.findall(err)


def test_an_error_never_prints_a_files_content(cli, write, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("TOPSECRET-LINE: [unclosed\n")
    p = write("s.yaml", f"extends: {secret}\nid: t\n")
    code, out, err = cli("validate", p)
    assert code == 2
    assert "TOPSECRET" not in err and "TOPSECRET" not in out


def test_a_message_with_a_newline_in_a_value_stays_one_line(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline('importer: "U\\nS"\n'))
    err = expect_bad(cli, [p], tmp_path / "out", "importer")
    for line in err.splitlines():
        assert LOCATED.match(line) or line.startswith("batsim: "), line
