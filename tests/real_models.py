"""Small real-architecture checkpoints built locally (no download), shaped like the models users bring.

- `build_llama3_style`: LlamaForCausalLM with Llama 3's token layout (128,000 byte-level tokens, then
  `<|begin_of_text|>` = 128000, `<|end_of_text|>` = 128001, ..., `<|eot_id|>` = 128009, reserved up to
  128255), a Llama-3.1-style template with a system header ("Cutting Knowledge Date ..."), an untied head,
  grouped-query attention, tokenizer EOS `<|end_of_text|>` (as Llama 3 Instruct was first released) and
  `generation_config.eos_token_id = [<|end_of_text|>, <|eot_id|>]`.
- `build_qwen2_style`: Qwen2ForCausalLM with Qwen 2.5's layout (`<|endoftext|>` = 151643, `<|im_start|>`,
  `<|im_end|>`), a ChatML template with a default system prompt, tied embeddings, tokenizer EOS `<|im_end|>`
  and `generation_config.eos_token_id = [<|im_end|>, <|endoftext|>]`.

Both tokenizers are byte-level BPE without merges (every byte one token; the filler ids above 256 exist
so the vocabulary has its real size and are never produced by encoding). hidden 32, one layer, so even at
vocab 128k a forward pass is cheap; only the output layer is large.

The Llama-3-style model is *steered* to end its turns, as an instruct model does: one residual dimension
(0) is held at 1 for every token (its embedding column is 1, the attention and MLP outputs write 0 there),
so after the final RMSNorm it is ~sqrt(hidden) at every position; the head reads that dimension only for
`<|eot_id|>` (logit +`eot_logit`) and `<|end_of_text|>` (logit -`eot_logit`). Every other logit stays
near 0, so at temperature 1 each step ends the turn with probability e^b / (e^b + V - 2) (b = eot_logit;
the default 10.4 gives ~0.20 at V = 128,256), and the tokenizer's EOS is never sampled: a generation that
stops has stopped on `<|eot_id|>`.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>"]
LLAMA3_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] | trim %}"
    "{%- set messages = messages[1:] %}{%- else %}{%- set system_message = '' %}{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}"
    "{{- 'Cutting Knowledge Date: December 2023\\nToday Date: 26 Jul 2024\\n\\n' }}"
    "{{- system_message }}{{- '<|eot_id|>' }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- set messages = messages[1:] %}"
    "{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def byte_level_tokenizer(base_vocab: int, specials: list[str], *, bos: str | None, eos: str, pad: str | None,
                         template: str, total: int | None = None):
    """A PreTrainedTokenizerFast: `base_vocab` byte-level tokens (256 bytes, then never-produced fillers),
    then `specials` in order (ids base_vocab, base_vocab + 1, ...), then reserved specials up to `total`."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())  # 256 printable stand-ins for the bytes
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    width = 2
    while len(vocab) < base_vocab:  # fillers: pairs, then triples of byte stand-ins (no merge makes them)
        for index in range(len(alphabet) ** width):
            if len(vocab) >= base_vocab:
                break
            digits = [(index // len(alphabet) ** k) % len(alphabet) for k in range(width)]
            vocab.setdefault("".join(alphabet[d] for d in digits), len(vocab))
        width += 1
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    names = list(specials) + [f"<|reserved_special_token_{k}|>" for k in range(100, 100 + (total or 0) - base_vocab
                                                                              - len(specials))]
    core.add_special_tokens([AddedToken(name, special=True, normalized=False) for name in names])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token=bos, eos_token=eos, pad_token=pad,
                                        model_max_length=4096)
    tokenizer.chat_template = template
    return tokenizer


def build_llama3_style(directory: Path, *, vocab_size: int = 128_256, hidden: int = 32, layers: int = 1,
                       eot_logit: float = 10.4, seed: int = 0) -> str:
    """A Llama-3-style checkpoint in `directory` (module docstring); returns its path as str.

    `vocab_size` >= 10 + 256: smaller values keep Llama 3's special-token layout above a smaller byte vocab.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    base = vocab_size - 256 if vocab_size >= 128_256 else vocab_size - len(LLAMA3_SPECIALS)
    tokenizer = byte_level_tokenizer(base, LLAMA3_SPECIALS, bos="<|begin_of_text|>", eos="<|end_of_text|>",
                                     pad=None, template=LLAMA3_TEMPLATE, total=vocab_size)
    bos, end_of_text, eot = (tokenizer.convert_tokens_to_ids(t) for t in
                             ("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"))
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048, rope_theta=500_000.0,
        tie_word_embeddings=False, bos_token_id=bos, eos_token_id=[end_of_text, eot],
    ))
    with torch.no_grad():  # the steering described in the module docstring
        model.model.embed_tokens.weight[:, 0] = 1.0
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight[0, :] = 0.0
            layer.mlp.down_proj.weight[0, :] = 0.0
        head = model.lm_head.weight  # (V, H)
        head[:, 0] = 0.0
        head[eot, 0] = eot_logit / math.sqrt(hidden)
        head[end_of_text, 0] = -eot_logit / math.sqrt(hidden)
    model.generation_config.bos_token_id = bos
    model.generation_config.eos_token_id = [end_of_text, eot]
    model.generation_config.do_sample, model.generation_config.temperature = True, 0.6  # as Llama 3.1 ships
    model.generation_config.top_p = 0.9
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


def build_qwen2_style(directory: Path, *, vocab_size: int = 151_936, hidden: int = 32, seed: int = 0) -> str:
    """A Qwen2-style checkpoint with tied embeddings in `directory` (module docstring); returns its path."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    base = min(151_643, vocab_size - len(QWEN2_SPECIALS))
    tokenizer = byte_level_tokenizer(base, QWEN2_SPECIALS, bos=None, eos="<|im_end|>", pad="<|endoftext|>",
                                     template=QWEN2_TEMPLATE)
    im_end, endoftext = tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=1,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True,
        bos_token_id=endoftext, eos_token_id=im_end,
    ))
    model.generation_config.eos_token_id = [im_end, endoftext]
    model.generation_config.pad_token_id = endoftext
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)
