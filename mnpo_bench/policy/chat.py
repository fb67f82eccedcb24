"""The chat template, applied the same way everywhere: generation, SFT, training log-probs, judging.

`render_prompt` turns a user prompt into the text a model continues; `encode_dialogue` turns a
(prompt, response) pair into token ids with the prompt length, so the prompt can be masked out of the
loss. The prompt and the response are tokenised separately, exactly as they are at sampling time (the
response tokens are whatever the model emitted after the prompt tokens), so the log-probs that training
computes are those of the tokens that were sampled.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

# The template of the embedded tiny model (a checkpoint without a template of its own is an error, never given it).
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
END_TOKEN = "<|end|>"
_PROBE = "MNPOENDOFTURNPROBE"  # plain text no template rewrites; what follows it closes an assistant turn
_END_OF_TURN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # tokenizer -> (template, token id)


def read_chat_template(value: str) -> str:
    """The Jinja text `value` stands for (policy.chat_template): `value` itself when it holds Jinja tags, else the
    contents of the file it names. A ValueError saying what is wrong when neither reads or the text does not
    compile in the sandboxed Jinja environment transformers renders templates with."""
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    text = value
    if "{{" not in value and "{%" not in value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError("neither a Jinja template (no {{ or {% tags) nor an existing file"
                             + (" (it is a directory)" if path.is_dir() else ""))
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"the template file {value} is not UTF-8 text") from None
    try:
        ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(text)
    except TemplateSyntaxError as exc:
        raise ValueError(f"not a valid Jinja template (line {exc.lineno}: {exc.message})") from None
    return text


def ensure_chat_template(tokenizer: Any, where: str | None = None) -> Any:
    """`tokenizer` with a pad token, after checking it has a chat template of its own; a UserError naming the
    checkpoint (and `where`, the setting that named it) when it has none: rendering prompts in another model's
    format would silently train and sample on text the model never saw. Returns the tokenizer."""
    if not getattr(tokenizer, "chat_template", None):
        from mnpo_bench.errors import UserError

        name = getattr(tokenizer, "name_or_path", None) or "the policy"
        raise UserError(f"the tokenizer of '{name}' has no chat template", where=where or str(name),
                        fix="set policy.chat_template to the model's Jinja chat template or a template file, or save "
                            "one with the checkpoint (tokenizer.chat_template = <Jinja template>; "
                            "tokenizer.save_pretrained(DIR))")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def end_of_turn_id(tokenizer: Any) -> int:
    """The token id the chat template closes an assistant turn with (`<|eot_id|>` for Llama 3, `<|im_end|>`
    for ChatML, `<end_of_turn>` for Gemma, `<|end|>` for the tiny model): the first special token the
    template writes after an assistant message. The tokenizer's EOS when the template writes none."""
    template = getattr(tokenizer, "chat_template", None)
    cached = _END_OF_TURN.get(tokenizer)
    if cached and cached[0] == template:
        return cached[1]
    found = tokenizer.eos_token_id
    try:
        text = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": _PROBE}],
                                             tokenize=False)
    except Exception:  # noqa: BLE001 - a template may refuse this dialogue; the EOS is then all we know
        text = ""
    if _PROBE in text:
        special = set(tokenizer.all_special_ids) | {
            i for i, token in getattr(tokenizer, "added_tokens_decoder", {}).items() if getattr(token, "special", False)}
        after = tokenizer(text.split(_PROBE, 1)[1], add_special_tokens=False)["input_ids"]
        found = next((i for i in after if i in special), found)
    _END_OF_TURN[tokenizer] = (template, found)
    return found


def stop_token_ids(tokenizer: Any, generation_config: Any = None) -> list[int]:
    """Every token that ends a response, in this order: the template's end-of-turn token, each of
    `generation_config.eos_token_id` (an int or a list, as Llama 3 and Gemma ship it), the tokenizer's EOS."""
    listed = getattr(generation_config, "eos_token_id", None)
    listed = [listed] if isinstance(listed, int) else list(listed or [])
    ids = [end_of_turn_id(tokenizer), *listed, tokenizer.eos_token_id]
    return list(dict.fromkeys(int(i) for i in ids if i is not None))


def render_prompt(tokenizer: Any, prompt: str | list[dict[str, str]]) -> str:
    """The text the model continues to answer `prompt` (a string or a list of chat messages)."""
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode_prompt(tokenizer: Any, prompt: str | list[dict[str, str]]) -> list[int]:
    """Token ids of the rendered prompt (no special tokens added beyond the template's own)."""
    return tokenizer(render_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]


def encode_dialogue(
    tokenizer: Any, prompt: str | list[dict[str, str]], response: str, max_length: int
) -> tuple[list[int], int]:
    """Token ids of prompt + response + the template's end-of-turn token (`end_of_turn_id`, the token
    generation stops on), and the number of prompt tokens.

    Truncation keeps at most half of `max_length` for the prompt (its last tokens, next to the answer)
    and cuts the response at the end; the result is never longer than `max_length`.
    """
    prompt_ids = encode_prompt(tokenizer, prompt)
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [end_of_turn_id(tokenizer)]
    if len(prompt_ids) + len(response_ids) > max_length:
        prompt_ids = prompt_ids[-max(1, min(len(prompt_ids), max_length // 2)):]
        response_ids = response_ids[: max_length - len(prompt_ids)]
    return prompt_ids + response_ids, len(prompt_ids)
