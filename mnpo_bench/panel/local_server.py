"""A local OpenAI-compatible judge server that injects faults, for tests and benchmarks of the openai backend.

It serves `POST /v1/chat/completions` on 127.0.0.1 (FastAPI + uvicorn, in its own process so it does not
share the client's interpreter lock) and answers like a chat model asked to pick "A" or "B": it prefers
the shorter of the two responses it finds in the default template's "[Response A]" / "[Response B]"
sections. Each request first waits `latency_s`; then, drawn from a generator seeded per request number,
it hangs past the client's timeout, answers 429 or 500, or returns unparseable text, at the set rates.
`GET /stats` reports how many requests arrived and how each was answered; `POST /plan` changes the plan.

    with LocalJudgeServer(latency_s=0.05, rate_429=0.1) as server:
        ...  # persona params: base_url: server.url, api_key_env: null
        server.stats()["requests"]
"""


import asyncio
import hashlib
import json
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

GARBAGE = "Both responses have their charms; it is hard to say."
SECTION = re.compile(r"\[Response A\]\n(.*?)\n\n\[Response B\]\n(.*?)(?:\n\n|$)", re.DOTALL)


@dataclass
class FaultPlan:
    """What the server does: latency before every answer and the rate of each injected fault."""

    latency_s: float = 0.0
    timeout_rate: float = 0.0  # hang for hang_s (past the client's timeout), then answer
    rate_429: float = 0.0
    rate_500: float = 0.0
    garbage_rate: float = 0.0  # 200 OK with an unparseable reply
    hang_s: float = 5.0
    reply_style: str = "letter"  # "letter": "A"; "sentence": "Response A is better."; "brackets": "[[A]]"
    expect_key: str | None = None  # when set, requests without "Authorization: Bearer <key>" get 401
    echo_auth: bool = False  # the 401's message quotes the request's Authorization header (as some servers do)
    seed: int = 0

    def outcome(self, request_number: int) -> str:
        """"timeout", "429", "500", "garbage" or "ok" for the n-th request (deterministic)."""
        u = random.Random(f"{self.seed}:{request_number}").random()
        for name, rate in (("timeout", self.timeout_rate), ("429", self.rate_429), ("500", self.rate_500),
                           ("garbage", self.garbage_rate)):
            if u < rate:
                return name
            u -= rate
        return "ok"


def verdict(messages: list[dict[str, Any]]) -> str:
    """"A" or "B": the shorter response in the last user message (a hash decides equal lengths)."""
    text = str(messages[-1].get("content", "")) if messages else ""
    found = SECTION.search(text)
    if found and len(found.group(1)) != len(found.group(2)):
        return "A" if len(found.group(1)) < len(found.group(2)) else "B"
    return "A" if hashlib.sha256(text.encode()).digest()[0] % 2 == 0 else "B"


def _reply(letter: str, style: str) -> str:
    return {"letter": letter, "sentence": f"Response {letter} is better.", "brackets": f"[[{letter}]]"}[style]


def create_app(plan: FaultPlan) -> Any:
    """The FastAPI app serving chat completions under `plan`."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()
    state: dict[str, Any] = {"requests": 0, "outcomes": Counter(), "unauthorized": 0}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        if plan.expect_key is not None and request.headers.get("authorization") != f"Bearer {plan.expect_key}":
            state["unauthorized"] += 1
            message = f"bad key in {request.headers.get('authorization')}" if plan.echo_auth else "bad key"
            return JSONResponse({"error": {"message": message, "type": "auth"}}, status_code=401)
        body = await request.json()
        number = state["requests"]
        state["requests"] += 1
        outcome = plan.outcome(number)
        state["outcomes"][outcome] += 1
        await asyncio.sleep(plan.latency_s)
        if outcome == "timeout":
            await asyncio.sleep(plan.hang_s)
        if outcome in ("429", "500"):
            message = {"429": "rate limited (injected)", "500": "server error (injected)"}[outcome]
            return JSONResponse({"error": {"message": message, "type": "injected"}}, status_code=int(outcome),
                                headers={"retry-after": "0"})
        content = GARBAGE if outcome == "garbage" else _reply(verdict(body.get("messages", [])), plan.reply_style)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        return {"id": f"cmpl-{number}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "local"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content.split()),
                          "total_tokens": prompt_tokens + len(content.split())}}

    @app.post("/plan")
    async def update_plan(request: Request) -> dict[str, Any]:
        for key, value in (await request.json()).items():
            setattr(plan, key, value)
        return asdict(plan)

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        return {"requests": state["requests"], "outcomes": dict(state["outcomes"]), "unauthorized": state["unauthorized"]}

    return app


def serve(plan: FaultPlan, port: int = 0) -> None:
    """Serve on 127.0.0.1:`port` (0: a free one), printing "listening <port>" once bound (blocks)."""
    import uvicorn

    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    print(f"listening {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(plan), log_level="error", access_log=False, backlog=4096,
                                           timeout_graceful_shutdown=1))
    server.run(sockets=[sock])


class LocalJudgeServer:
    """Runs `serve` in a child process for the length of a `with` block."""

    def __init__(self, port: int = 0, **plan: Any):
        self.plan = FaultPlan(**plan)
        self.process: subprocess.Popen[str] | None = None
        self.port = port  # 0: a free port, chosen when the server starts

    @property
    def url(self) -> str:
        """The base_url to give the openai client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "LocalJudgeServer":
        self.process = subprocess.Popen([sys.executable, "-m", "mnpo_bench.panel.local_server",
                                         json.dumps(asdict(self.plan)), str(self.port)], stdout=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("listening "):
            self.__exit__()
            raise RuntimeError(f"local judge server did not start: {line!r}")
        self.port = int(line.split()[1])
        deadline = time.time() + 30
        while time.time() < deadline:  # the socket is bound before uvicorn serves; wait until it answers
            try:
                self.stats()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("local judge server did not answer within 30 s")

    def stats(self) -> dict[str, Any]:
        """{"requests": n, "outcomes": {"ok": n, "429": n, ...}, "unauthorized": n} since the server started."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as reply:
            return json.loads(reply.read())

    def set_plan(self, **fields: Any) -> None:
        """Replace the running server's whole fault plan (fields not given take their defaults)."""
        self.plan = FaultPlan(**fields)
        self.update(**asdict(self.plan))

    def update(self, **fields: Any) -> None:
        """Change some fields of the running server's fault plan (e.g. `update(garbage_rate=0)` to heal it)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/plan", data=json.dumps(fields).encode(),
                                         headers={"content-type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stdout:
                self.process.stdout.close()
            self.process = None


if __name__ == "__main__":
    serve(FaultPlan(**json.loads(sys.argv[1])), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
