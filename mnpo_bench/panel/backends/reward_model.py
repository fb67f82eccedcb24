"""The `reward_model` backend: any Hugging Face sequence-classification reward model.

Each (prompt, response) is scored once (r, in the model's logit units); P(first wins) =
sigmoid(r_first - r_second), the Bradley-Terry probability the reward model implies.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field

from mnpo_bench.panel.backends import Comparison, Verdict
from mnpo_bench.panel.backends.hf import LocalModelBackend, load_pretrained
from mnpo_bench.panel.biases import sigmoid
from mnpo_bench.settings import Section


class RewardModelParams(Section):
    """Parameters of a reward-model persona."""

    model: str = Field(..., description="HF hub id (cached) or save_pretrained directory of a sequence-classification model")
    label_index: int | None = Field(None, ge=0, description="for a head with several labels, the 'good' label (its log-softmax is the reward); null: the single logit")
    input_format: Literal["chat", "pair", "text"] = Field(
        "chat", description="chat: the tokenizer's chat template (text when it has none); pair: tokenizer(prompt, "
        "response) as a text pair, as DeBERTa-style reward models expect; text: prompt + blank line + response")
    max_length: int = Field(512, ge=8, description="tokens per scored text (longer ones are truncated)")
    batch_size: int = Field(16, ge=1, description="texts per forward pass")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="weights dtype")


class RewardModelBackend(LocalModelBackend):
    """Scores responses with a reward model and compares the scores."""

    Params = RewardModelParams

    def __init__(self, persona: Any, device: str = "auto"):
        super().__init__(persona, device)
        from transformers import AutoModelForSequenceClassification

        where = f"{persona.source}: params.model"
        self.model, self.tokenizer = load_pretrained(AutoModelForSequenceClassification, self.params.model, device,
                                                     self.params.dtype, where)
        self.tokenizer.padding_side = "right"

    def _encode(self, pairs: list[tuple[str, str]]) -> Any:
        """Token batch (padded, truncated) for (prompt, response) pairs in the persona's input format."""
        fmt = self.params.input_format
        options = dict(padding=True, truncation=True, max_length=self.params.max_length, return_tensors="pt")
        if fmt == "pair":
            return self.tokenizer([p for p, _ in pairs], [r for _, r in pairs], **options)
        if fmt == "chat" and getattr(self.tokenizer, "chat_template", None):
            texts = [self.tokenizer.apply_chat_template(
                [{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False) for p, r in pairs]
            return self.tokenizer(texts, add_special_tokens=False, **options)
        return self.tokenizer([f"{p}\n\n{r}" for p, r in pairs], **options)

    def rewards(self, pairs: list[tuple[str, str]]) -> list[float]:
        """The reward of each (prompt, response), in the model's logit units."""
        import torch

        out: list[float] = []
        for start in range(0, len(pairs), self.params.batch_size):
            batch = self._encode(pairs[start:start + self.params.batch_size]).to(self.model.device)
            with torch.inference_mode():
                logits = self.model(**batch).logits.float()  # (B, num_labels)
            if self.params.label_index is None:
                out.extend(logits[:, 0].tolist())
            else:
                out.extend(torch.log_softmax(logits, dim=-1)[:, self.params.label_index].tolist())
        return out

    def judge(self, items: list[Comparison]) -> list[Verdict]:
        started = time.perf_counter()
        keys = list(dict.fromkeys([(i.prompt, i.first) for i in items] + [(i.prompt, i.second) for i in items]))
        reward = dict(zip(keys, self.rewards(keys)))
        latency = (time.perf_counter() - started) / max(1, len(items))
        return [Verdict(sigmoid(reward[(i.prompt, i.first)] - reward[(i.prompt, i.second)]), latency_s=latency)
                for i in items]
