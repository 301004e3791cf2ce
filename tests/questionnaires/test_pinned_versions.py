"""A published instrument version never changes under existing assessments: each is pinned here by
the hash of what decides its scores. Changing a question, a weight, an option's score, a level or
who is asked needs a new version file (and a new line here), never an edit of a published one."""

from questionnaires import loader

PUBLISHED = {
    ("quick-check", "1.0"): "8d841ce4fd73d7c675e1c06781f8e1d6713cf6b3376004e4bdad68db0ce91cc9",
    ("dmat", "1.0"): "94663875ba8844a58ec4a8ef8aafac04db247a7f6e8b8153766be6cab4f2110a",
    ("mic-dbi", "1.0"): "2dc71f1cd1aba8724cac36d8150a81bf80b32ab55e5501eb8ee3849fcacb9ca6",
    ("tools-2025", "1.0"): "bc9ed3cd5d8e36bbe258e186510cf52c5b779b5286e37bc66f71ed1edfaaaa60",
}


def test_every_bundled_version_is_pinned_and_unchanged():
    found = {(i, v): loader.content_hash(ins) for i, versions in loader.bundled().items()
             for v, ins in versions.items()}
    assert set(found) >= set(PUBLISHED), "a published version was removed"
    assert found == PUBLISHED


def test_the_hash_follows_scores_not_wording():
    instrument = loader.get("quick-check", "1.0")
    q = instrument.questions[0]
    reworded = instrument.model_copy(update={"title": instrument.title.model_copy(update={"en": "Renamed"})})
    assert loader.content_hash(reworded) == PUBLISHED[("quick-check", "1.0")]
    rescored_option = q.options[0].model_copy(update={"score": q.options[0].score + 1})
    rescored = instrument.model_copy(update={"questions": [
        q.model_copy(update={"options": [rescored_option, *q.options[1:]]}), *instrument.questions[1:]]})
    assert loader.content_hash(rescored) != PUBLISHED[("quick-check", "1.0")]
