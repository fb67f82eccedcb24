"""Secrets never stored: key-shaped text is redacted from endpoint errors, and a key pasted where the name of
its environment variable belongs is refused without being echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnpo_bench.cli import main
from mnpo_bench.redact import looks_like_key, redact

KEY = "sk-proj-Zq8v1Xw2Yt3Us4Rp5Oq6Nn7Mm8Ll9Kk0"


@pytest.mark.parametrize("text", [
    f"HTTP 401: bad key in Bearer {KEY}",
    f"Error code: 401 - {{'error': {{'message': 'Incorrect API key provided: {KEY}'}}}}",
    f"authorization: Bearer {KEY}",
    f"request failed (headers={{'Authorization': 'Bearer {KEY}'}})",
    f"api_key={KEY}",
    "x-api-key: 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a",
    "token hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "github said ghp_abcdefghijklmnopqrstuvwxyz0123456789",
])
def test_key_shaped_text_is_redacted(text: str):
    out = redact(text)
    assert "[redacted]" in out
    for secret in (KEY, KEY[8:], "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a", "AbCdEfGhIjKlMnOpQrStUvWxYz012345",
                   "abcdefghijklmnopqrstuvwxyz0123456789"):
        assert secret not in out


def test_the_value_of_a_named_key_variable_is_redacted_whatever_its_shape(monkeypatch):
    from mnpo_bench.redact import remember_key_env

    monkeypatch.setenv("MY_JUDGE_KEY", "plainwordsecret")
    remember_key_env("MY_JUDGE_KEY")
    assert redact("the server said: plainwordsecret is wrong") == "the server said: [redacted] is wrong"


@pytest.mark.parametrize("text", ["APIConnectionError: Connection error. (after 5 attempts)",
                                  "HTTP 429: rate limited (injected)", "unparseable verdict 'Both are fine'",
                                  "no label for this comparison in labels.csv", None])
def test_ordinary_errors_are_kept(text):
    assert redact(text) == text


def test_names_are_names_and_keys_are_keys():
    for name in ("OPENAI_API_KEY", "TOGETHER_API_KEY", "MY_KEY_2", "hf_token_env"):
        assert not looks_like_key(name), name
    for key in (KEY, "sk-abcdef0123456789abcd", "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "sk_live_51HabcDEF0123456789xyz",
                "key with spaces", "Bearer abc"):
        assert looks_like_key(key), key


def test_a_key_in_api_key_env_is_refused_without_echoing_it(tmp_path: Path, capsys):
    persona = tmp_path / "leaky.yaml"
    persona.write_text(f"name: leaky\ninclude: gpt-4o-mini\nparams: {{api_key_env: {KEY}}}\n")
    assert main(["personas", "test", str(persona)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "params.api_key_env" in err and "looks like an API key" in err
    assert KEY not in err and KEY[8:16] not in err
