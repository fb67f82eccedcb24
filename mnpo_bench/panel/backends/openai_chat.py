"""The `openai` backend: any OpenAI-compatible chat endpoint (OpenAI, a vLLM server, llama.cpp).

Requests run concurrently (asyncio, at most `concurrency` in flight) through the official `openai` client.
A request that times out, gets 408/409/429/5xx, or whose reply the parser cannot read is retried with
exponential backoff (honouring Retry-After) up to `max_retries` times, then recorded as a failed verdict.
Other 4xx answers fail at once. The API key is read from the environment variable the persona names and
is never stored: only the variable's name is part of the persona's config.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import time
from typing import Any, Literal

from pydantic import Field, field_validator

from mnpo_bench.errors import UserError
from mnpo_bench.panel.backends import Backend, Comparison, Verdict
from mnpo_bench.panel.parsers import PARSERS
from mnpo_bench.redact import looks_like_key, redact, remember_key_env
from mnpo_bench.settings import Section

RETRYABLE_STATUS = {408, 409, 429}


class Decoding(Section):
    """Sampling settings sent with each request."""

    temperature: float = Field(0.0, ge=0, description="sampling temperature of the judge model")
    max_tokens: int = Field(16, ge=1, description="longest reply in tokens")


class OpenAIParams(Section):
    """Parameters of an OpenAI-compatible judge persona."""

    model: str = Field(..., description="model name the endpoint serves")
    base_url: str | None = Field(None, pattern=r"^https?://[^\s/]+", description="endpoint root, e.g. http://localhost:8000/v1; null: api.openai.com")
    api_key_env: str | None = Field("OPENAI_API_KEY", description="environment variable holding the API key; null for a server without keys")
    template: str = Field(..., description="prompt template file beside the persona, or inline text")
    system: str | None = Field(None, description="optional system message")
    parser: Literal["letter", "brackets"] = Field("letter", description="how the reply is read: 'letter' (A/B) or 'brackets' ([[A]]/[[B]]/[[C]])")
    decoding: Decoding = Field(default_factory=Decoding, description="sampling settings")
    concurrency: int = Field(8, ge=1, le=1024, description="requests in flight at once")
    timeout_s: float = Field(60.0, gt=0, description="seconds before one request is abandoned (then retried)")
    max_retries: int = Field(4, ge=0, le=20, description="retries per comparison after the first attempt")
    backoff_s: float = Field(1.0, ge=0, description="wait before the first retry; doubles each retry (with jitter)")
    price_input_per_mtok: float = Field(0.0, ge=0, description="US dollars per million prompt tokens")
    price_output_per_mtok: float = Field(0.0, ge=0, description="US dollars per million completion tokens")

    @field_validator("api_key_env")
    @classmethod
    def _a_name_not_a_key(cls, value: str | None) -> str | None:
        """The variable's name, never a key pasted in its place (the error line does not echo it)."""
        if value is not None and looks_like_key(value):
            raise ValueError("this looks like an API key, not the name of an environment variable; export the key "
                             "(export OPENAI_API_KEY=...) and give the variable's name here, and rotate the key if "
                             "this file was shared")
        return value


def _api_key(persona: Any) -> str:
    env = persona.params.api_key_env
    if env is None:
        return "no-key"
    remember_key_env(env)  # its value is redacted from any error text a server sends back
    key = os.environ.get(env)
    if not key:
        raise UserError(f"environment variable {env} is not set", where=f"{persona.source}: params.api_key_env",
                        fix=f"export {env}=<your key>, or set api_key_env: null for a server without keys")
    return key


def run_coroutine(coro: Any) -> Any:
    """Run `coro` to completion, also from code that already runs an event loop (then in a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class OpenAIBackend(Backend):
    """Asks a chat model which response is better, many requests at a time."""

    Params = OpenAIParams

    def __init__(self, persona: Any, device: str = "auto"):
        super().__init__(persona, device)
        from mnpo_bench.panel.personas import template_text

        self.template = template_text(self.params.template)
        self.parse = PARSERS[self.params.parser]

    @classmethod
    def check(cls, persona: Any) -> None:
        _api_key(persona)

    def judge(self, items: list[Comparison]) -> list[Verdict]:
        return run_coroutine(self._judge_all(items, _api_key(self.persona)))

    async def _judge_all(self, items: list[Comparison], key: str) -> list[Verdict]:
        import openai

        client = openai.AsyncOpenAI(api_key=key, base_url=self.params.base_url, timeout=self.params.timeout_s,
                                    max_retries=0)  # retries are ours: one bound over transport and parse failures
        slots = asyncio.Semaphore(self.params.concurrency)
        async with client:
            return list(await asyncio.gather(*(self._one(client, slots, item) for item in items)))

    def _messages(self, item: Comparison) -> list[dict[str, str]]:
        text = self.template.format(prompt=item.prompt, response_a=item.first, response_b=item.second,
                                    gold=item.gold or "")
        system = [{"role": "system", "content": self.params.system}] if self.params.system else []
        return system + [{"role": "user", "content": text}]

    async def _one(self, client: Any, slots: asyncio.Semaphore, item: Comparison) -> Verdict:
        import openai
        from openai.types.chat import ChatCompletion

        p = self.params
        # The client's generic `post` (its documented way to call any endpoint) rather than
        # `chat.completions.create`: same transport, timeouts and error types, but it skips the per-request
        # walk over the typed parameters, a quarter of the client's CPU per request (measured), which is
        # what bounds throughput at high concurrency on a small machine.
        body = {"model": p.model, "messages": self._messages(item), "temperature": p.decoding.temperature,
                "max_tokens": p.decoding.max_tokens}
        # latency_s: seconds inside requests (every attempt); queue_s: seconds waiting for a free slot or backoff
        latency = queued = 0.0
        calls = tokens_in = tokens_out = 0
        error = "no attempt made"
        wait, asked = p.backoff_s, 0.0
        for attempt in range(p.max_retries + 1):
            waited = time.perf_counter()
            if attempt:  # jitter spreads out a burst of retries; never sooner than the server asked
                await asyncio.sleep(max(wait * random.uniform(0.5, 1.0), asked))
                wait, asked = wait * 2, 0.0
            async with slots:
                started = time.perf_counter()
                queued += started - waited
                calls += 1
                try:
                    reply = await client.post("/chat/completions", cast_to=ChatCompletion, body=body)
                except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    continue
                except openai.APIStatusError as exc:
                    error = f"HTTP {exc.status_code}: {str(exc)[:200]}"
                    if exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500:
                        asked = _retry_after(exc)
                        continue
                    break
                finally:
                    latency += time.perf_counter() - started
            usage = getattr(reply, "usage", None)
            tokens_in += getattr(usage, "prompt_tokens", 0) or 0
            tokens_out += getattr(usage, "completion_tokens", 0) or 0
            content = (reply.choices[0].message.content or "") if reply.choices else ""
            prob = self.parse(content)
            if prob is not None:
                return Verdict(prob, None, latency, self._cost(tokens_in, tokens_out), calls, tokens_in, tokens_out,
                               queue_s=queued)
            error = f"unparseable verdict {content[:80]!r}"
        return Verdict(None, redact(f"{error} (after {calls} attempts)"), latency, self._cost(tokens_in, tokens_out),
                       calls, tokens_in, tokens_out, queue_s=queued)

    def _cost(self, tokens_in: int, tokens_out: int) -> float:
        """US dollars for the tokens used."""
        return (tokens_in * self.params.price_input_per_mtok + tokens_out * self.params.price_output_per_mtok) / 1e6


def _retry_after(exc: Any) -> float:
    """Seconds the server asked us to wait (Retry-After header), capped at 30; 0 when it did not say."""
    try:
        return min(30.0, float(exc.response.headers.get("retry-after", 0)))
    except (TypeError, ValueError, AttributeError):
        return 0.0
