"""BibTeX export and the strict reader used to check it."""
from __future__ import annotations

import json

import pytest

from sim.provenance.bibliography import (REQUIRED_FIELDS, BibtexError, load_bibliography, parse_bibtex,
                                         to_bibtex, to_csl_json)

TRICKY = [
    {"id": "r-and-d", "type": "article-journal", "title": "R&D at 50% of $5 #1 a_b {x ~y^",
     "author": [{"family": "Smith", "given": "Jo"}, {"literal": "Agency & Co"}],
     "container-title": "J. Stuff", "issued": {"date-parts": [[2024, 3, 9]]}, "page": "3-19",
     "URL": "https://example.org/a?b=1&c=50%25#frag", "accessed": {"date-parts": [[2026, 11, 22]]}},
    {"id": "no-author-article", "type": "article-newspaper", "title": "Untitled wire story",
     "container-title": "Wire", "URL": "https://example.org/w"},
    {"id": "seedlike", "type": "post-weblog", "title": "美国锂电：好牌打烂",
     "author": [{"family": "孙", "given": "鹏飞"}], "issued": {"date-parts": [[2022, 1, 14]]}, "language": "zh-CN"},
]


def test_tricky_entries_export_to_valid_bibtex():
    text = to_bibtex(TRICKY)
    entries = parse_bibtex(text)
    assert [e["ID"] for e in entries] == ["r-and-d", "no-author-article", "seedlike"]
    art, wire, blog = entries
    assert art["ENTRYTYPE"] == "article" and art["journal"] == "J. Stuff" and art["pages"] == "3--19"
    assert art["year"] == "2024" and art["month"] == "mar"
    assert art["author"] == "Smith, Jo and {Agency \\& Co}"
    assert r"R\&D at 50\% of \$5 \#1 a\_b \textbraceleft{}x \textasciitilde{}y\textasciicircum{}" in art["title"]
    assert art["urldate"] == "2026-11-22"
    # a newspaper item with no author or year cannot be a valid @article: it becomes @misc
    assert wire["ENTRYTYPE"] == "misc" and "Wire" in wire["howpublished"]
    assert blog["ENTRYTYPE"] == "misc" and blog["author"] == "孙, 鹏飞" and blog["title"] == "{美国锂电：好牌打烂}"
    for e in entries:
        assert all(f in e for f in REQUIRED_FIELDS[e["ENTRYTYPE"]]), e


@pytest.mark.parametrize("bad, why", [
    ("@misc{k, title = {open}", "unbalanced"),
    ("@misc{k title = {x}}", "citation key"),
    ("@misc{k, title = {x} note = {y}}", "expected ','"),
    ("@misc{k, title = {x}}\n@misc{k, title = {y}}", "duplicate key"),
    ("@misc{k, title = {x}, title = {y}}", "duplicate field"),
    ("@misc{k, month = smarch}", "undefined macro"),
    ('@misc{k, title = "a {b"}', "unterminated"),
])
def test_parser_rejects_malformed_bibtex(bad, why):
    with pytest.raises(BibtexError, match=why):
        parse_bibtex(bad)


def test_parser_reads_the_usual_forms():
    text = """% a comment
@string{jn = "Journal"}
@comment{ignored {nested} }
@Article{a1,
  title = "Quoted {Title}",
  journal = jn # { Extra},
  year = 2020,
  month = jan,
}
"""
    (e,) = parse_bibtex(text)
    assert e == {"ENTRYTYPE": "article", "ID": "a1", "title": "Quoted {Title}", "journal": "Journal Extra",
                 "year": "2020", "month": "jan"}


def test_whole_bibliography_round_trips(tmp_path):
    from sim.provenance.registry import find_calibration

    bib = load_bibliography(find_calibration())
    assert bib.problems == []
    entries = [bib.entries[i] for i in bib.ids()]
    parsed = parse_bibtex(to_bibtex(entries))
    assert [e["ID"] for e in parsed] == bib.ids()
    for e in parsed:
        assert all(f in e for f in REQUIRED_FIELDS[e["ENTRYTYPE"]]), e["ID"]
        assert e["title"].startswith("{") and e["title"].endswith("}")
    assert json.loads(to_csl_json(entries)) == entries


def test_bibliography_problems_are_located(tmp_path):
    (tmp_path / "bibliography").mkdir()
    (tmp_path / "bibliography" / "a.json").write_text('[\n  {"id": "x", "title": "t"},\n  {"id": "x", "title": "u"}\n]\n')
    (tmp_path / "bibliography" / "b.json").write_text('[\n  {"id": "y",\n')
    bib = load_bibliography(tmp_path)
    msgs = sorted(str(p) for p in bib.problems)
    assert msgs[0].endswith("a.json:3:4: x: duplicate bibliography id (hint: first defined at "
                            f"{tmp_path / 'bibliography' / 'a.json'}:2:4)")
    assert "b.json:3:1: malformed JSON" in msgs[1]
