"""Issue 13, the loader's invariants (hypothesis): whatever the text, load_text returns or raises
BadInput, nothing else; every problem is one bounded line with a hint; positions round-trip (the
recorded line and column of each key point at that key in the text)."""
from __future__ import annotations

import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.errors import BadInput
from sim.core.yamlio import load_text

KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
SCALARS = st.one_of(st.integers(-10 ** 6, 10 ** 6), st.floats(-1e6, 1e6, allow_nan=False), st.booleans(),
                    st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x7f"),
                            max_size=12))
DOCS = st.recursive(SCALARS, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(KEYS, c, max_size=4)),
                    max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_loads_or_is_bad_input(text):
    try:
        load_text(text, "f.yaml")
    except BadInput as exc:
        assert exc.problems
        for p in exc.problems:
            s = str(p)
            assert "\n" not in s and len(s) < 2000
            assert p.hint, s
            assert p.line >= 1 and p.col >= 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab: -[]{},\n\t'\"!&*#|>%@`") + ["\x00", "\x01", "\x85", "\u2028"]),
               max_size=200))
def test_yaml_punctuation_soup_loads_or_is_bad_input(text):
    try:
        load_text(text, "f.yaml")
    except BadInput as exc:
        assert all(p.hint and "\n" not in str(p) for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, DOCS, min_size=1, max_size=6))
def test_positions_round_trip(doc):
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    loc = load_text(text, "f.yaml")
    assert loc.data == yaml.safe_load(text)
    lines = text.splitlines()
    for path, (line, col) in loc.keys.items():
        key = str(path[-1])
        at = lines[line - 1][col - 1:]
        assert re.match(r"['\"]?" + re.escape(key), at), (path, line, col, lines[line - 1])


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(KEYS, SCALARS, min_size=1, max_size=5), st.integers(0, 10 ** 6),
       st.sampled_from([chr(c) for c in list(range(0, 9)) + [11, 12] + list(range(14, 32)) + [127]]))
def test_a_control_character_is_located_where_it_is(doc, where, char):
    text = yaml.safe_dump(doc, sort_keys=False)
    i = where % (len(text) + 1)
    bad = text[:i] + char + text[i:]
    try:
        load_text(bad, "f.yaml")
        raise AssertionError("a control character was accepted")
    except BadInput as exc:
        p = exc.problems[0]
        assert (p.line, p.col) == (bad.count("\n", 0, i) + 1, i - (bad.rfind("\n", 0, i) + 1) + 1)
