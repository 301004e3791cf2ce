"""The registered enterprises (assessment/city/coverage.py): a CSV checked whole (every wrong cell
named by row and column, nothing kept), and the post-stratified mean on hand-computed strata, as
docs/method.md section 11 works it out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.city import coverage
from assessment.city.coverage import PopulationErrors, post_stratify

K = 5


def test_a_good_file_is_read_with_either_separator_and_a_bom():
    rows = coverage.parse("\ufeffward_code,vsic_section,size_class,enterprises\r\n00004,G,micro,800\r\n"
                          "00004,G,small, 150 \r\n\r\n".encode())
    assert rows == [("00004", "G", "micro", 800), ("00004", "G", "small", 150)]
    assert coverage.parse(b"enterprises;size_class;vsic_section;ward_code\n7;medium;C;00008\n") == [
        ("00008", "C", "medium", 7)]


@pytest.mark.parametrize(("body", "message"), [
    (b"ward_code,vsic_section,size_class\n00004,G,micro\n", "Row 1: the header lacks the column(s) enterprises."),
    (b"ward_code,vsic_section,size_class,enterprises\n99999,G,micro,5\n",
     "Row 2, column ward_code: '99999' is not a ward or commune code of Hanoi."),
    (b"ward_code,vsic_section,size_class,enterprises\n00004,Z,micro,5\n",
     "Row 2, column vsic_section: 'Z' is not a VSIC section (A to U)."),
    (b"ward_code,vsic_section,size_class,enterprises\n00004,G,tiny,5\n",
     "Row 2, column size_class: 'tiny' is not one of micro, small, medium, large."),
    (b"ward_code,vsic_section,size_class,enterprises\n00004,G,micro,-3\n",
     "Row 2, column enterprises: '-3' is not a whole number from 0 to 10,000,000."),
    (b"ward_code,vsic_section,size_class,enterprises\n00004,G,micro,\xd9\xa3\n",  # an Arabic-Indic digit
     "Row 2, column enterprises: '\u0663' is not a whole number from 0 to 10,000,000."),
    (b"ward_code,vsic_section,size_class,enterprises\n00004,G,micro,5\n00004,G,micro,6\n",
     "Row 3, column ward_code: this ward, section and size class is listed twice."),
    (b"ward_code,vsic_section,size_class,enterprises\n", "The file has no rows."),
    (b"ward_code,vsic_section,size_class,enterprises\n00\r04,G,micro,5\n",  # a lone carriage return ends a row
     "Row 2, column ward_code: '00' is not a ward or commune code of Hanoi."),
    (b"ward_code,vsic_section,size_class,enterprises\n" + b"0" * 140_000 + b",G,micro,5\n",
     "The file cannot be read as CSV (field larger than field limit"),
    (b"\xff\xfeward_code", "The file is not UTF-8 text"),
    (b"x" * (coverage.MAX_BYTES + 1), "The file is larger than 2 MB."),
])
def test_a_wrong_file_names_what_is_wrong(body, message):
    with pytest.raises(PopulationErrors) as caught:
        coverage.parse(body)
    assert str(caught.value).startswith(message)


def test_at_most_ten_problems_are_listed():
    body = "ward_code,vsic_section,size_class,enterprises\n" + "00004,G,micro,x\n" * 30
    with pytest.raises(PopulationErrors) as caught:
        coverage.parse(body.encode())
    assert len(caught.value.problems) == coverage.MAX_ERRORS


# -- the post-stratified mean: docs/method.md section 11's example ----------------------------------
WEIGHTS = {("G", "micro"): 800, ("G", "small"): 150, ("G", "medium"): 50, ("C", "micro"): 100}


def test_small_strata_pool_within_their_section_and_a_section_too_small_is_left_out():
    # G micro: 6 at mean 40 (its own group); G small 3 at 70 and G medium 2 at 90 pool: 5 at 78,
    # standing for 150 + 50 = 200; C micro: 2, no group of 5 in C: left out (100 not represented)
    strata = {("G", "micro"): (6, 240.0), ("G", "small"): (3, 210.0), ("G", "medium"): (2, 180.0),
              ("C", "micro"): (2, 40.0)}
    weighted = post_stratify(WEIGHTS, strata, K, 1100)
    assert weighted.mean == pytest.approx((800 * 40 + 200 * 78) / 1000)  # 47.6
    assert (weighted.represented, weighted.population) == (1000, 1100)


def test_a_pool_still_too_small_joins_its_section_s_smallest_large_stratum():
    # G small 3 and G medium 1: 4 < 5, so they join G micro: (240 + 210 + 90) / 10 = 54 for all 1000
    strata = {("G", "micro"): (6, 240.0), ("G", "small"): (3, 210.0), ("G", "medium"): (1, 90.0)}
    weighted = post_stratify(WEIGHTS, strata, K, 1100)
    assert weighted.mean == pytest.approx(54.0) and weighted.represented == 1000


def test_participants_where_nobody_is_registered_carry_no_weight():
    strata = {("G", "micro"): (6, 240.0), ("F", "small"): (9, 900.0)}
    weighted = post_stratify({("G", "micro"): 800}, strata, K, 800)
    assert weighted.mean == pytest.approx(40.0) and weighted.represented == 800


def test_nothing_large_enough_gives_no_mean():
    weighted = post_stratify(WEIGHTS, {("C", "micro"): (2, 40.0)}, K, 1100)
    assert (weighted.mean, weighted.represented) == (None, 0)


HEADER = "ward_code,vsic_section,size_class,enterprises\n"
CELL = st.one_of(st.sampled_from(["00004", "00008", "G", "C", "micro", "small", "5", "0", "-1", "", "1e3", "٣",
                                  '"', ";", "\x00", "\u202e"]), st.text(max_size=12))


@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.lists(CELL, min_size=0, max_size=5), max_size=8).map(
                     lambda rows: (HEADER + "\n".join(",".join(r) for r in rows)).encode())))
@settings(max_examples=300, deadline=None)
def test_any_file_is_either_read_whole_or_refused_with_problems(body):
    try:
        rows = coverage.parse(body)
    except PopulationErrors as exc:
        assert 1 <= len(exc.problems) <= coverage.MAX_ERRORS
    else:
        assert rows and all(n >= 0 for *_, n in rows) and len(set(r[:3] for r in rows)) == len(rows)
