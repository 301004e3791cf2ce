"""Results, peers, what-if, charts, PDF and history over HTTP."""

import subprocess

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from assessment import layout, results, rounds
from assessment.models import Answer, AssessmentRound
from tests.factories import login, make_business, make_owner, owner_of, start, submitted
from tests.harness import free_port, tax_codes


def round_of(session, copy):
    return session.get(AssessmentRound, copy.round_id)


@pytest.fixture
def done(client, session):
    owner = make_owner(session)
    business = make_business(session, owner)
    assessment = submitted(session, business, pick=1)
    login(client)
    return assessment, business


def test_results_page_shows_scores_levels_and_advice(client, done):
    assessment, _ = done
    page = BeautifulSoup(client.get(f"/assessments/{assessment.id}/results").text, "html.parser")
    assert page.select_one(".big-score").text.startswith(f"{assessment.overall_score:.1f}")
    instrument = rounds.instrument_of(assessment)
    assert len(page.select("table.dimensions tbody tr")) == len(instrument.dimensions)
    assert page.select("ol.recommendations li")
    assert page.select_one('img[src$="radar.svg"]') and page.select_one('img[src$="bars.svg"]')


def test_draft_results_redirect_to_the_questions(client, session, done):
    _, business = done
    draft = start(session, business, owner_of(session, business), instrument_id="quick-check")
    assert client.get(f"/assessments/{draft.id}/results").status_code == 303
    assert client.get(f"/assessments/{draft.id}/report.pdf").status_code == 404


def test_charts_are_svg(client, done):
    assessment, _ = done
    for kind in ("radar", "bars"):
        response = client.get(f"/assessments/{assessment.id}/charts/{kind}.svg")
        assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
        assert b"<svg" in response.content
    assert client.get(f"/assessments/{assessment.id}/charts/pie.svg").status_code == 404


def test_peer_comparison_needs_five_peers(client, session, done):
    assessment, _ = done
    page = client.get(f"/assessments/{assessment.id}/results").text
    assert "Fewer than 5 businesses have been assessed" in page
    for i in range(5):
        peer = make_business(session, make_owner(session, f"peer{i}@example.vn"))
        submitted(session, peer, pick=0 if i < 4 else 2)  # four below, one above
    peers = results.peers(session=session, round_=round_of(session, assessment), minimum=5)
    assert (peers.count, peers.percentile, peers.group) == (5, pytest.approx(80.0), "sector_size")
    sentence = BeautifulSoup(client.get(f"/assessments/{assessment.id}/results").text, "html.parser").select_one(
        "p.peer").text.strip()
    assert sentence == ("Among 5 micro businesses in Wholesale and retail trade; repair of motor vehicles and "
                        "motorcycles, your overall score is in the top quarter.")  # 80: the top quarter


def test_peers_fall_back_to_the_sector_then_the_size_then_the_city(client, session, done):
    """Too few of the same sector and size: the same sector (any size), then the same size class (any
    sector), then the city; the page names the group it used."""
    assessment, _ = done  # G, micro; pick 1
    round_ = round_of(session, assessment)
    owners = (make_owner(session, f"p{i}@example.vn") for i in range(20))

    def peer(pick: int, **form):
        submitted(session, make_business(session, next(owners), tax_code=next(codes), **form), pick=pick)

    codes = tax_codes(start=4_000_000)
    for pick in (0, 2):  # manufacturing micro: the same size class, another sector
        peer(pick, vsic_section="C")
    for pick in (0, 2):  # trade, small (20 employees): the same sector, another size
        peer(pick, employees="20")
    none = results.peers(session=session, round_=round_, minimum=5)
    assert (none.group, none.count, none.percentile) == (None, 4, None)  # not even the city holds 5
    peer(0, vsic_section="F", employees="20")
    city = results.peers(session=session, round_=round_, minimum=5)
    assert (city.group, city.count, city.percentile) == ("city", 5, pytest.approx(60.0))  # 3 below, 2 above
    page = BeautifulSoup(client.get(f"/assessments/{assessment.id}/results").text, "html.parser")
    assert page.select_one("p.peer").text.strip() == (
        "Among 5 businesses in the city (too few of the same sector or size class to compare with), your overall "
        "score is in the upper middle, above half of them.")  # 60: between half and three quarters
    for pick in (0, 0, 0):  # micro businesses of another sector: the size class now holds 5
        peer(pick, vsic_section="C")
    assert results.peers(session=session, round_=round_, minimum=5).group == "size"
    for pick in (0, 0, 2):  # trade, small: the sector now holds 5
        peer(pick, employees="20")
    sector = results.peers(session=session, round_=round_, minimum=5)
    assert (sector.group, sector.count, sector.percentile) == ("sector", 5, pytest.approx(60.0))
    page = BeautifulSoup(client.get(f"/rounds/{round_.id}").text, "html.parser")
    assert "businesses of every size in Wholesale and retail trade" in page.select_one("p.peer").text
    assert "too few micro ones to compare with" in page.select_one("p.peer").text


@pytest.mark.parametrize(("percentile", "position"), [
    (100.0, "in the top quarter"), (75.0, "in the top quarter"), (74.9, "in the upper middle, above half of them"),
    (50.0, "in the upper middle, above half of them"), (49.9, "in the lower middle, below half of them"),
    (25.0, "in the lower middle, below half of them"), (24.9, "in the bottom quarter"), (0.0, "in the bottom quarter"),
    (None, None)])
def test_a_percentile_reads_as_a_position_in_the_group(percentile, position):
    assert results.Peers(8, percentile, "sector_size").position == position


def test_peers_are_only_same_sector_and_size_and_latest(session, done):
    assessment, _ = done
    other_sector = make_business(session, make_owner(session, "c@example.vn"), vsic_section="C")
    submitted(session, other_sector)
    twice = make_business(session, make_owner(session, "t@example.vn"))
    submitted(session, twice, pick=0)
    submitted(session, twice, pick=2)
    assert results.peers(session=session, round_=round_of(session, assessment), minimum=1).count == 1
    # only the latest of "twice"; not the other sector, not itself


def test_what_if_changes_nothing_stored(client, session, done):
    assessment, business = done
    before = {(a.question_id, a.value) for a in session.exec(select(Answer))}
    instrument = rounds.instrument_of(assessment)
    form = []
    for q in layout.applicable(instrument, business.vsic_section, business.size_class):
        if q.type == "multi":
            form += [(f"q_{q.id}", o.id) for o in q.options if o.score > 0]
        else:
            form.append((f"q_{q.id}", max(q.options, key=lambda o: o.score).id))
    response = client.hx(f"/assessments/{assessment.id}/what-if", form)
    assert response.status_code == 200
    fragment = BeautifulSoup(response.text, "html.parser")
    assert fragment.select_one("#sandbox") is not None and fragment.select_one("header") is None
    assert fragment.select_one(".big-score").text.startswith("100.0")
    bar = fragment.select_one("#sandbox-bar")  # the phone's sticky summary, swapped out of band
    assert bar["hx-swap-oob"] == "true" and bar.strong.text == "100.0"
    assert {(a.question_id, a.value) for a in session.exec(select(Answer))} == before
    session.refresh(assessment)
    assert assessment.overall_score < 100


def test_what_if_suggests_three_answers_that_raise_the_score(session, done):
    assessment, business = done
    saved = rounds.answers_of(session, assessment)
    view, suggestions = results.what_if(rounds.instrument_of(assessment), business, saved)
    assert len(suggestions) == 3
    assert [s.overall_after for s in suggestions] == sorted(s.overall_after for s in suggestions)
    assert suggestions[0].overall_after > view.overall
    assert len({s.question.id for s in suggestions}) == 3


def test_what_if_ignores_bad_sandbox_answers(client, done):
    assessment, _ = done
    response = client.hx(f"/assessments/{assessment.id}/what-if", {"q_nope": "x", "q_c1": "zzz"})
    assert response.status_code == 200


def test_pdf_report_in_vietnamese(client, session, done):
    assessment, _ = done
    client.submit("/language", {"lang": "vi"})
    response = client.get(f"/assessments/{assessment.id}/report.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True).stdout
    text = text.decode()
    assert "Công ty TNHH Đồng Xuân" in text
    instrument = rounds.instrument_of(assessment)
    assert instrument.dimensions[0].name.vi in " ".join(text.split())


def test_history_shows_every_submission_and_the_change(client, session, done):
    assessment, business = done
    second = submitted(session, business, pick=2)
    page = client.get(f"/businesses/{business.id}/history/quick-check")
    rows = BeautifulSoup(page.text, "html.parser").select("table.history tbody tr")
    assert len(rows) == 2
    assert "+" in rows[1].text  # a rise since the first assessment
    chart = client.get(f"/businesses/{business.id}/history/quick-check/1.0/chart.svg")
    assert chart.status_code == 200 and b"<svg" in chart.content
    assert client.get(f"/businesses/{business.id}/history/nope").status_code == 404
    (group,) = results.history(session=session, business=business, instrument_id="quick-check")
    assert [p.round.id for p in group.points] == [assessment.round_id, second.round_id]


def test_a_foreign_submitted_assessment_is_404_on_every_results_route(client, new_client, session, done):
    assessment, business = done
    make_owner(session, "intruder@example.vn")
    intruder = new_client()
    login(intruder, "intruder@example.vn")
    for url in (f"/assessments/{assessment.id}/results", f"/assessments/{assessment.id}/report.pdf",
                f"/assessments/{assessment.id}/charts/radar.svg", f"/assessments/{assessment.id}/charts/bars.svg",
                f"/businesses/{business.id}/history/quick-check",
                f"/businesses/{business.id}/history/quick-check/1.0/chart.svg"):
        assert intruder.get(url).status_code == 404, url
    assert intruder.hx(f"/assessments/{assessment.id}/what-if", {}).status_code == 404


def test_charts_of_frozen_scores_are_rendered_once_and_revalidated_with_their_etag(client, session, done,
                                                                                  monkeypatch):
    from assessment.models import RenderedChart
    from web import charts

    assessment, _ = done
    url = f"/assessments/{assessment.id}/charts/radar.svg"
    first = client.get(url)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.strip('"') == session.exec(select(RenderedChart.etag)).one()

    def no_drawing(*args, **kwargs):
        raise AssertionError("a cached chart was drawn again")

    monkeypatch.setattr(charts, "radar", no_drawing)
    again = client.get(url)
    assert again.status_code == 200 and again.content == first.content and again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_history_keeps_each_version_apart_with_its_own_dimensions(client, session, done, monkeypatch):
    """A round of a newer version (here a copy of quick-check 1.0 published as 2.0, with a dimension
    renamed) is a history of its own, labelled with that version's dimensions."""
    from questionnaires import loader

    assessment, business = done
    bundled = loader.bundled()
    old = bundled["quick-check"]["1.0"]
    renamed = old.dimensions[0].model_copy(update={"name": old.dimensions[0].name.model_copy(
        update={"en": "Renamed in 2.0"})})
    new = old.model_copy(update={"version": "2.0", "dimensions": [renamed, *old.dimensions[1:]]})
    monkeypatch.setattr(loader, "bundled", lambda: {**bundled, "quick-check": {"1.0": old, "2.0": new}})
    later = submitted(session, business, pick=2)  # opened with the latest version: 2.0
    assert later.instrument_version == "2.0"
    groups = results.history(session=session, business=business, instrument_id="quick-check")
    assert [(g.instrument.version, [p.round.id for p in g.points]) for g in groups] == [
        ("2.0", [later.round_id]), ("1.0", [assessment.round_id])]
    page = BeautifulSoup(client.get(f"/businesses/{business.id}/history/quick-check").text, "html.parser")
    tables = page.select("section.history-version")
    assert len(tables) == 2 and "Renamed in 2.0" in tables[0].text and "Renamed in 2.0" not in tables[1].text
    assert client.get(f"/businesses/{business.id}/history/quick-check/2.0/chart.svg").status_code == 200
    assert client.get(f"/businesses/{business.id}/history/quick-check/9.9/chart.svg").status_code == 404


def test_the_owner_has_the_pdf_report_mailed_to_their_own_address(settings, engine, session, smtp_server):
    """The mail reaches the account's address (never one the form could name), in Vietnamese, with the
    same PDF the download gives attached; without a working server the page says so (502)."""
    from tests.conftest import Browser
    from tests.mailbox import smtp_settings
    from web.app import create_app

    collector, port = smtp_server
    owner = make_owner(session)
    business = make_business(session, owner)
    assessment = submitted(session, business, pick=1)
    app = create_app(smtp_settings(settings, port, default_language="vi"), engine=engine)
    with Browser(app, follow_redirects=False) as browser:
        login(browser)
        browser.submit("/language", {"lang": "vi", "next": "/"})
        response = browser.submit(f"/assessments/{assessment.id}/report/mail", {"to": "attacker@example.com"})
        assert response.status_code == 200 and owner.email in response.text
        download = browser.get(f"/assessments/{assessment.id}/report.pdf").content
    (received,) = collector.received
    assert received.rcpt_tos == [owner.email]
    assert received.header("Subject").startswith("Báo cáo của bạn")
    assert f"/assessments/{assessment.id}/results" in received.text()
    (attached,) = list(received.message.iter_attachments())
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_filename() == f"dxmaturity-quick-check-{assessment.id}.pdf"
    pdf = attached.get_content()
    assert pdf[:4] == b"%PDF" and len(pdf) == pytest.approx(len(download), rel=0.05)

    broken = create_app(smtp_settings(settings, free_port()), engine=engine)  # nothing listens there
    with Browser(broken, follow_redirects=False) as browser:
        login(browser)
        response = browser.submit(f"/assessments/{assessment.id}/report/mail", {})
        assert response.status_code == 502 and "Không gửi được báo cáo" in response.text  # the owner chose vi


def test_only_those_who_see_the_results_can_have_them_mailed(client, new_client, session, done):
    assessment, _ = done
    make_owner(session, "other@example.vn")
    intruder = new_client()
    login(intruder, "other@example.vn")
    assert intruder.submit(f"/assessments/{assessment.id}/report/mail", {}).status_code == 404


def test_the_history_chart_writes_dates_and_names_in_the_readers_language(client, session, done, monkeypatch):
    """The chart's dates are the page's dates ("02/12/2026" in Vietnamese, "2 Dec 2026" in English),
    its legend the dimensions' names and "Overall" in the reader's language."""
    from web import charts, formatting

    assessment, business = done
    submitted(session, business, pick=2)
    drawn = []
    real = charts.progress
    monkeypatch.setattr(charts, "progress", lambda dates, overall, series, **kw: drawn.append(
        (dates, list(series), kw["overall_label"])) or real(dates, overall, series, **kw))
    closed = [r.closed_at for r in session.exec(select(AssessmentRound).order_by(AssessmentRound.id)).all()]
    for lang in ("vi", "en"):
        client.submit("/language", {"lang": lang, "next": "/"})
        chart = client.get(f"/businesses/{business.id}/history/quick-check/1.0/chart.svg")
        assert chart.status_code == 200
        page = BeautifulSoup(client.get(f"/businesses/{business.id}/history/quick-check").text, "html.parser")
        dates, names, overall = drawn[-1]
        assert dates == [formatting.day(at, lang) for at in closed]
        assert all(d in page.select_one("table.history").text for d in dates)
        assert overall == ("Tổng thể" if lang == "vi" else "Overall")
    assert drawn[0][0][0].count("/") == 2 and "/" not in drawn[1][0][0]  # 02/12/2026 against 2 Dec 2026
    assert drawn[0][1] != drawn[1][1]  # the dimensions' names, in each language
