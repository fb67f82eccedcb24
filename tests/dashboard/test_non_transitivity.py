"""The annotators page shows the panel's non-transitivity block from panel_diagnostics.json."""

from __future__ import annotations

from tests.dashboard.conftest import open_page


def test_annotators_page_shows_non_transitivity_of_the_training_data(env):
    at = open_page("annotators")
    shown = {m.label: m.value for m in at.metric}
    assert shown["cyclic triads"] == "0.250" and shown["decided triads"] == "40"
    assert shown["Hodge curl share"] == "0.125" and shown["mixed maximal lottery"] == "0.500"
    assert any("Non-transitivity of the training data" in m.value for m in at.markdown)
