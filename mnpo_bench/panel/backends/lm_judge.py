"""The `lm_judge` backend: a local causal LM asked which response is better.

The persona's template (with {prompt}, {response_a}, {response_b}, optionally {gold}) is sent as a user
message (through the chat template when the tokenizer has one); P(first wins) is the softmax over the
next-token logits of the two choice tokens, renormalised to the pair: exp(l_A) / (exp(l_A) + exp(l_B)).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field, field_validator

from mnpo_bench.errors import UserError
from mnpo_bench.panel.backends import Comparison, Verdict
from mnpo_bench.panel.backends.hf import LocalModelBackend, load_pretrained
from mnpo_bench.settings import Section


class LMJudgeParams(Section):
    """Parameters of a local LM-judge persona."""

    model: str = Field(..., description="'tiny' (the embedded policy), an HF hub id (cached) or a save_pretrained directory")
    template: str = Field(..., description="prompt template file beside the persona, or inline text")
    choices: list[str] = Field(["A", "B"], min_length=2, max_length=2, description="the two answer strings; the first token of each is scored")
    chat: bool = Field(True, description="wrap the filled template in the tokenizer's chat template when it has one")
    max_length: int = Field(1024, ge=16, description="prompt tokens kept (the end is kept when longer)")
    batch_size: int = Field(8, ge=1, description="prompts per forward pass")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="weights dtype")

    @field_validator("choices")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if value[0] == value[1] or not all(value):
            raise ValueError("the two choices must be different non-empty strings")
        return value


class LMJudgeBackend(LocalModelBackend):
    """Reads the judge's preference off the logits of the two choice tokens."""

    Params = LMJudgeParams

    def __init__(self, persona: Any, device: str = "auto"):
        super().__init__(persona, device)
        from transformers import AutoModelForCausalLM

        from mnpo_bench.panel.personas import template_text

        where = f"{persona.source}: params.model"
        self.model, self.tokenizer = load_pretrained(AutoModelForCausalLM, self.params.model, device, self.params.dtype, where)
        self.tokenizer.padding_side = "left"
        self.tokenizer.truncation_side = "left"
        self.template = template_text(self.params.template)
        ids = [self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in self.params.choices]
        if not all(ids) or ids[0][0] == ids[1][0]:
            raise UserError(f"choices {self.params.choices} do not start with two different tokens for this tokenizer",
                            where=f"{persona.source}: params.choices", fix='try [" A", " B"] or other words')
        self.choice_ids = [ids[0][0], ids[1][0]]

    def render(self, item: Comparison) -> str:
        """The text the judge model continues for `item`."""
        text = self.template.format(prompt=item.prompt, response_a=item.first, response_b=item.second,
                                    gold=item.gold or "")
        if self.params.chat and getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                      add_generation_prompt=True)
        return text

    def judge(self, items: list[Comparison]) -> list[Verdict]:
        import torch

        verdicts = []
        for start in range(0, len(items), self.params.batch_size):
            began = time.perf_counter()
            chunk = items[start:start + self.params.batch_size]
            batch = self.tokenizer([self.render(i) for i in chunk], padding=True, truncation=True,
                                   max_length=self.params.max_length, add_special_tokens=False,
                                   return_tensors="pt").to(self.model.device)
            mask = batch["attention_mask"]  # (B, T), zeros on the left padding
            positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (B, T): each prompt starts at position 0
            with torch.inference_mode():
                out = self.model(input_ids=batch["input_ids"], attention_mask=mask, position_ids=positions)
            logits = out.logits[:, -1, :].float()  # (B, V) next-token logits
            probs = torch.softmax(logits[:, self.choice_ids], dim=-1)[:, 0]  # (B,) P(first choice)
            latency = (time.perf_counter() - began) / len(chunk)
            verdicts.extend(Verdict(float(p), latency_s=latency) for p in probs)
        return verdicts
