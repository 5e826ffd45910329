"""`extends:` by name and its confinement; problems reported together; CLI abbreviations and did-you-mean."""
from __future__ import annotations

import os
import shlex

import pytest

from conftest import LOCATED, SCENARIOS, expect_bad


def test_extends_a_shipped_scenario_by_name_from_any_folder(write, monkeypatch, tmp_path):
    import sim

    monkeypatch.chdir(tmp_path)
    f = write("mine.yaml", "extends: graphite-ban\nid: mine\n")
    scn = sim.load_scenario(f)
    assert scn.id == "mine"
    assert [os.path.basename(x) for x in scn.files] == ["baseline.yaml", "graphite-ban.yaml", "mine.yaml"]
    assert scn.quantities["cells.capacity"].pid == "us.cell_capacity_2025"


def test_an_unknown_name_gets_did_you_mean(cli, write, tmp_path):
    f = write("mine.yaml", "extends: graphite-bann\nid: mine\n")
    expect_bad(cli, [f], tmp_path / "out", "'graphite-bann' is not a shipped scenario", "did you mean 'graphite-ban'?",
               file=f, line=1)


def test_a_relative_path_in_the_same_tree_still_works(cli, write, tmp_path):
    import sim

    write("sub/base.yaml", f"extends: {SCENARIOS / 'baseline.yaml'}\nid: base\n")
    f = write("child.yaml", "extends: sub/base.yaml\nid: child\n")
    assert sim.load_scenario(f).id == "child"


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside.yaml"])
def test_extends_outside_the_allowed_folders_is_refused_without_printing_it(cli, write, tmp_path, target):
    (tmp_path / "outside.yaml").write_text("id: secret-content-line\n", encoding="utf-8")
    f = write("inner/mine.yaml", f"extends: {target}\nid: mine\n")
    err = expect_bad(cli, [f], tmp_path / "out", "lies outside the scenario's folder", file=f, line=1)
    assert "secret-content-line" not in err and "root:" not in err


def test_extends_a_fifo_or_a_folder_is_refused_without_hanging(cli, write, tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "dir.yaml").mkdir()
    for name in ("pipe.yaml", "dir.yaml"):
        f = write(f"via-{name}", f"extends: {name}\nid: mine\n")
        expect_bad(cli, [f], tmp_path / "out", "is not a regular file", file=f, line=1)


def test_extends_a_symlink_leading_out_of_the_tree_is_refused(cli, write, tmp_path):
    (tmp_path / "inner").mkdir()
    os.symlink("/etc/hostname", tmp_path / "inner" / "base.yaml")
    f = write("inner/mine.yaml", "extends: base.yaml\nid: mine\n")
    expect_bad(cli, [f], tmp_path / "out", "lies outside", file=f, line=1)


@pytest.mark.parametrize("value, needle", [
    ('"a\\0b.yaml"', "not a usable file name"),
    ("x" * 300 + ".yaml", "not a usable file name"),
    ("[a, b]", "must be a file path or the name of a shipped scenario"),
])
def test_bad_extends_values(cli, write, tmp_path, value, needle):
    f = write("mine.yaml", f"extends: {value}\nid: mine\n")
    err = expect_bad(cli, [f], tmp_path / "out", needle, file=f, line=1)
    assert len(err) < 2000


def test_schema_and_semantic_problems_are_reported_together(cli, write, tmp_path):
    f = write("four.yaml", f"""
        extends: {SCENARIOS / 'baseline.yaml'}
        id: four
        calender: {{start: 2025-01-01, end: 2026-01-01, step: week}}
        importer: [US]
        cells:
          capacity: {{lever: -5, unit: GWh/year, why: test}}
          yield: {{param: cells.yeild_typo}}
    """)
    code, out, err = cli("validate", f)
    assert code == 2
    located = LOCATED.findall(err)
    assert [int(m[1]) for m in located] == [3, 4, 6, 7], err
    assert "4 problems found" in err


@pytest.mark.parametrize("args, needle, usage", [
    (["rnu", "x.yaml"], "did you mean 'run'?", "usage: batsim [-h]"),
    (["run", "--seeds", "3", "x.yaml"], "did you mean '--seed'?", "usage: batsim run"),
    (["run", "--sample", "3", "x.yaml"], "did you mean '--samples'?", "usage: batsim run"),
    (["sweep", "--method", "oat", "--param", "a", "x.yaml"], "did you mean '--params'?", "usage: batsim sweep"),
    (["validate", "--nope", "x.yaml"], "unrecognized arguments: --nope", "usage: batsim validate"),
])
def test_cli_usage_errors(cli, args, needle, usage):
    code, out, err = cli(*args)
    assert code == 2 and needle in err and err.startswith(usage) and "Traceback" not in err, err


def test_no_option_is_taken_from_an_abbreviation(cli, tmp_path):
    code, _, err = cli("run", str(SCENARIOS / "baseline.yaml"), "--out", tmp_path / "o", "--no-plot")
    assert code == 2 and "did you mean '--no-plots'?" in err and not (tmp_path / "o").exists()


def _help_examples() -> list[tuple[str, list[str]]]:
    from sim.cli.main import SUBPARSERS, build_parser

    build_parser()
    out = []
    for name, sp in SUBPARSERS.items():
        for line in (sp.description or "").splitlines():
            s = line.strip()
            if s.startswith("batsim "):
                words = shlex.split(s.split("#")[0], posix=True)
                cut = [i for i, w in enumerate(words) if w in (">", "|", "&&")]
                out.append((name, words[1:cut[0] if cut else None]))
    return out


def test_every_help_example_parses_and_names_options_that_exist():
    from sim.cli.main import parse

    examples = _help_examples()
    assert len(examples) >= 8
    for name, argv in examples:
        args = parse(argv)
        assert args.command == name, argv
