"""Every form, fed whatever a person or a script could type (hypothesis): never a server error.

The routes are the app's own (``test_authorization_matrix.ROWS``, which a new route must join) and
the fields each reads are taken from the route itself (its ``Form`` parameters) or, for the routes
that read the whole form, from ``WHOLE_FORM`` below; a route that reads the whole form without an
entry there fails. Each route is called by a person allowed to use it, on their own objects.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tests.web.test_authorization_matrix import ROWS, People, _fill, build_world
from web.deps import form_data

WHOLE_FORM = {
    "/businesses": ("name", "tax_code", "ward_code", "vsic_section", "employees", "revenue_bn", "capital_bn"),
    "/businesses/{business_id}": ("name", "tax_code", "ward_code", "vsic_section", "employees", "revenue_bn",
                                  "capital_bn"),
    "/cohorts": ("name", "description", "instrument", "starts_on", "ends_on", "co_trainers"),
    "/cohorts/{cohort_id}/members/{business_id}/actions": ("text", "dimension", "due_on"),
    "/assessments/{assessment_id}/what-if": ("q_cus01", "q_cus02"),
    "/assessments/{assessment_id}/answers/{question_id}": ("answer",),
    "/city/targets": ("instrument", "version", "period", "vsic_section", "ward", "level", "target_share"),
    "/city/snapshots": ("instrument", "version", "period", "district", "level"),
    "/city/population": ("file", "instrument", "period", "size_class"),  # a text "file": no file sent
    "/admin/api-tokens": ("name",),
    "/city/microdata": ("instrument", "version", "period"),
}
NOT_FORMS = {"/logout"}  # ends the fuzzing person's session; it reads no field

# Text as people and scripts send it: any character a form can carry (lone surrogates cannot be
# encoded), short and long, with the characters that broke PostgreSQL and the ones that mislead.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.text(st.sampled_from("\x00\x07\u202e\u2066\u200b\ufeffaĐ9 -@.\n"), max_size=20),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=250, max_size=400),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "9" * 30, "2026-02-30", "approve", "on", "vi"]),
)


def _fields(app, method: str, path: str) -> tuple[str, ...]:
    for route in app.routes:
        inner = getattr(route, "original_router", None)
        for candidate in (inner.routes if inner is not None else [route]):
            if (getattr(candidate, "path", "").replace(":int", "") == path
                    and method in getattr(candidate, "methods", ())):
                dependant = getattr(candidate, "dependant", None)  # the autosave is a plain route
                names = tuple(p.alias for p in dependant.body_params) if dependant else ()
                if not names and dependant is not None and _reads_whole_form(dependant):
                    assert path in WHOLE_FORM, f"{method} {path} reads the whole form: list its fields in WHOLE_FORM"
                return names or WHOLE_FORM.get(path, ())
    raise AssertionError(f"no route {method} {path}")


def _reads_whole_form(dependant) -> bool:
    """Whether a route (or a dependency of it) takes ``web.deps.FormDep``, the parsed form whole."""
    return any(d.call is form_data or _reads_whole_form(d) for d in dependant.dependencies)


def _caller(row) -> tuple[str, str] | None:
    """A person allowed to call the route (a logged-in one not refused with 404, else the anonymous
    visitor not sent to log in) and the id kind of their own object."""
    own = [(kind, table) for kind, table in row.cells.items() if kind not in ("missing", "huge")]
    for kind, table in own:
        for who, status in table.items():
            if who not in ("anon", "U") and status != 404:
                return who, kind
    for kind, table in own:
        if table["anon"] != 303:
            return "anon", kind
    return None


def _fuzz(people: People, who: str, path: str, fields: tuple[str, ...]):
    @examples(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries({name: TEXT for name in fields}))
    def post(values: dict[str, str]) -> None:
        status = people.call(who, "POST", path, values)
        assert status < 500, (path, who, values, status)

    return post


def test_no_form_answers_a_server_error(app, engine, settings):
    world = build_world(engine, settings)
    people = People(app, engine, world)
    checked = 0
    for row in ROWS:
        if row.method != "POST" or row.path in NOT_FORMS:
            continue
        caller = _caller(row)
        fields = _fields(app, "POST", row.path)
        if caller is None or not fields:
            continue
        who, kind = caller
        _fuzz(people, who, _fill(row.path, kind, world.ids), fields)()
        checked += 1
    assert checked >= 20  # the forms of the app, not a handful (the others read no field)


def test_every_whole_form_route_is_listed(app):
    for path, _ in WHOLE_FORM.items():
        assert _fields(app, "POST", path)
