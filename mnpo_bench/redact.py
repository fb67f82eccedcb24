"""Redaction of secrets from text the project stores or shows (endpoint errors, stage notes, the dashboard).

A server may echo the request's Authorization header, or the key itself, in an error message; that text
would land in judgments.parquet, battles and the dashboard. `redact` replaces anything key-shaped with
`[redacted]`: bearer and basic credentials, `api_key=`/`token:`-style assignments, tokens with a known
provider prefix (`sk-`, `hf_`, `ghp_`, ...), long runs of letters mixed with digits (32+ characters), and
the value of every environment variable a persona names as its key. Written here rather than taken from a
library because the rules are few and must also cover the keys of the personas in this process.
"""

from __future__ import annotations

import os
import re

MASK = "[redacted]"
_PATTERNS = [
    re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)\b(authorization|x-api-key|api[_-]?key|access[_-]?token|secret|password|token)"
               r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",;}]{4,}"),
    re.compile(r"\b(?:sk|pk|rk)[-_][A-Za-z0-9_-]{12,}"),
    re.compile(r"\b(?:hf|ghp|gho|ghs|ghu|github_pat|xox[abpr]|glpat|AKIA)[-_A-Za-z0-9]{12,}"),
    re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"),
]
_KEY_ENVS: set[str] = {"OPENAI_API_KEY"}


def remember_key_env(name: str | None) -> None:
    """Also redact the value of environment variable `name` (a persona's api_key_env) wherever it appears."""
    if name:
        _KEY_ENVS.add(name)


def redact(text: str | None) -> str | None:
    """`text` with every key-shaped substring replaced by "[redacted]"; None stays None."""
    if text is None or not isinstance(text, str):
        return text
    for name in _KEY_ENVS:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            text = text.replace(value, MASK)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    for pattern in _PATTERNS[2:]:
        text = pattern.sub(MASK, text)
    return text


def looks_like_key(value: str) -> bool:
    """True when `value` reads as a secret rather than as the name of an environment variable."""
    if redact(value) != value:
        return True
    return not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", value) or (
        len(value) >= 20 and any(c.isdigit() for c in value) and any(c.islower() for c in value))
