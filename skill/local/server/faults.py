"""Fault injection: the ``--faults`` grammar of docs/design.md, parsed and served out.

    SPEC  := RULE ("," RULE)*
    RULE  := NAME ["=" VALUE] ["@" ENDPOINT] ["*" COUNT]

A rule without ``@ENDPOINT`` fires on the first request it applies to (an error code applies to
the endpoints where the real service can answer it, see ``_APPLIES_TO``); ``COUNT`` is how many
times it fires (default 1, ``*inf`` for always).
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass

from skill.errors import InputError

__all__ = [
    "ENDPOINTS",
    "FAULT_NAMES",
    "REQUIRED_SCOPE",
    "FaultBook",
    "FaultRule",
    "parse_faults",
    "scope_refusal",
]

ENDPOINTS = (
    "auth",
    "session",
    "chat",
    "upload",
    "credits",
    "state",
    "export",
    "poll",
    "download",
    "cancel",
)
_AUTHED = tuple(e for e in ENDPOINTS if e not in ("auth", "download"))
_WITH_SESSION = ("chat", "upload", "state", "export")

# The scope each endpoint needs (NemoVideo SKILL.md §8: tokens carry read, write, upload,
# render or *; anonymous tokens only read, write and upload). The "403" fault answers as the
# cloud does for a token without it.
REQUIRED_SCOPE: dict[str, str] = {
    "session": "write",
    "chat": "write",
    "upload": "upload",
    "credits": "read",
    "state": "read",
    "export": "render",
    "poll": "render",
    "cancel": "render",
    "download": "render",
}


def scope_refusal(endpoint: str) -> tuple[str, dict[str, str]]:
    """The message and data of the HTTP 403 a token without ``endpoint``'s scope gets."""
    scope = REQUIRED_SCOPE.get(endpoint, "*")
    message = (
        f"Forbidden: this token does not have the '{scope}' scope. Anonymous tokens have read, "
        "write and upload; create a token with that scope (Settings -> API Tokens) or upgrade "
        "the plan."
    )
    return message, {"required_scope": scope}


# Where each fault can happen on the real service; an explicit @ENDPOINT overrides this.
_APPLIES_TO: dict[str, tuple[str, ...]] = {
    "1001": _AUTHED,
    "1002": _WITH_SESSION,
    "2001": ("chat", "export"),
    "4001": ("upload",),
    "4002": ("upload",),
    "400": ("auth",),
    "402": ("export",),
    "403": ("export",),  # anonymous tokens have no "render" scope; "403@chat" etc. for others
    "429": ENDPOINTS,
    "500": ENDPOINTS,
    "502": ENDPOINTS,
    "503": ENDPOINTS,
    "expire-token": _AUTHED,
    "lose-session": _WITH_SESSION,
    "sse-cut": ("chat",),
    "sse-stall": ("chat",),
    "sse-malformed": ("chat",),
    "sse-error": ("chat",),
    "sse-system-error": ("chat",),
    "sse-404": ("chat",),
    "sse-silent": ("chat",),
    "render-fail": ("export", "poll"),
    "download-cut": ("download",),
}
FAULT_NAMES = tuple(_APPLIES_TO)
# Faults whose VALUE is a number; the others take none.
_NUMERIC_VALUE = {"429", "sse-cut", "sse-stall", "download-cut"}

_RULE_RE = re.compile(
    r"^(?P<name>[a-z0-9-]+)(?:=(?P<value>[^@*]+))?(?:@(?P<endpoint>[a-z]+))?(?:\*(?P<count>[^@*]+))?$"
)


@dataclass
class FaultRule:
    """One parsed RULE; ``remaining`` counts down each time it fires (``math.inf`` never ends)."""

    name: str
    value: float | None = None
    endpoint: str | None = None
    remaining: float = 1

    def applies_to(self, endpoint: str) -> bool:
        if self.endpoint is not None:
            return self.endpoint == endpoint
        return endpoint in _APPLIES_TO[self.name]

    def __str__(self) -> str:
        text = self.name
        if self.value is not None:
            text += f"={self.value:g}"
        if self.endpoint is not None:
            text += f"@{self.endpoint}"
        if self.remaining != 1:
            text += "*inf" if math.isinf(self.remaining) else f"*{int(self.remaining)}"
        return text


def _bad(spec: str, why: str) -> InputError:
    names = " ".join(FAULT_NAMES)
    return InputError(
        f"bad fault spec {spec!r}: {why}. The grammar is NAME[=VALUE][@ENDPOINT][*COUNT], "
        f"comma-separated; NAME is one of: {names}; ENDPOINT one of: {' '.join(ENDPOINTS)}"
    )


def parse_faults(spec: str | None) -> list[FaultRule]:
    """Every rule of ``spec``, in order; ``InputError`` naming the bad part otherwise."""
    rules: list[FaultRule] = []
    if spec is None or not spec.strip():
        return rules
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        match = _RULE_RE.match(part)
        if match is None:
            raise _bad(part, "it does not follow the grammar")
        name = match["name"]
        if name not in _APPLIES_TO:
            raise _bad(part, f"unknown fault {name!r}")
        value: float | None = None
        if match["value"] is not None:
            if name not in _NUMERIC_VALUE:
                raise _bad(part, f"{name} takes no value")
            try:
                value = float(match["value"])
            except ValueError:
                raise _bad(part, f"the value {match['value']!r} is not a number") from None
            if value < 0 or not math.isfinite(value):
                raise _bad(part, "the value must be a non-negative number")
        endpoint = match["endpoint"]
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise _bad(part, f"unknown endpoint {endpoint!r}")
        remaining: float = 1
        if match["count"] is not None:
            count = match["count"]
            if count == "inf":
                remaining = math.inf
            elif count.isdigit() and int(count) > 0:
                remaining = int(count)
            else:
                raise _bad(part, f"the count {count!r} must be a positive whole number or inf")
        rules.append(FaultRule(name, value, endpoint, remaining))
    return rules


class FaultBook:
    """The armed rules of a running backend, shared by the server thread and the caller's."""

    def __init__(self, spec: str | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = parse_faults(spec)

    def inject(self, spec: str) -> None:
        rules = parse_faults(spec)
        with self._lock:
            self._rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def armed(self) -> list[str]:
        """The rules still armed, as spec text (for logs and the CLI banner)."""
        with self._lock:
            return [str(rule) for rule in self._rules]

    def take(self, endpoint: str, header_spec: str | None = None) -> list[FaultRule]:
        """The rules that fire on this request: the request's own header rules, then the
        first armed rule that applies (one per request, so ``1001,1001`` fails two requests
        in a row); that rule's count goes down by one."""
        fired = [r for r in parse_faults(header_spec) if r.applies_to(endpoint)]
        with self._lock:
            for rule in self._rules:
                if rule.applies_to(endpoint):
                    rule.remaining -= 1
                    fired.append(FaultRule(rule.name, rule.value, endpoint, 1))
                    break
            self._rules = [r for r in self._rules if r.remaining > 0]
        return fired
