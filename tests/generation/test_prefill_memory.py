"""Generation at vocabulary 128k keeps the prefill's logits to the last position: peak RSS of a fresh
process generating for 128 prompts of ~290 tokens stays under 2 GB (the full logits block alone is ~18 GB)."""

from __future__ import annotations

import pytest

from benchmarks.prefill_memory import measure

pytestmark = [pytest.mark.slow, pytest.mark.heavy]


def test_prefill_at_vocab_128k_with_128_prompts_peaks_under_2_gb(llama3_style):
    result = measure(llama3_style, 128, "ours")
    assert result["prompt_tokens"] >= 240
    assert result["peak_rss_gb"] <= 2.0, result
