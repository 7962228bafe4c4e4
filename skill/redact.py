"""Keep secrets out of everything a person or a log can see.

``redact()`` masks API tokens and bearer credentials in a string; ``RedactingFilter`` applies it
to every log record, the way openai-python masks ``Authorization``; ``install_log_redaction()``
puts the filter on the loggers jiggle and httpx write to.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "install_log_redaction", "redact", "register_secret"]

_MASK = "***"
# Bearer credentials, NemoVideo-style tokens, and ``token=...`` pairs in URLs or reprs.
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\bnmv_[A-Za-z0-9_]{6,}"),
    re.compile(
        r"(?i)((?:\"|')?(?:token|authorization|nemo_token)(?:\"|')?\s*[:=]\s*(?:\"|')?)"
        r"[A-Za-z0-9._~+/=-]{6,}"
    ),
)
_known_secrets: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a token in use so that it is masked wherever it appears, whatever its shape."""
    if secret and len(secret) >= 6:
        _known_secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with every known secret and every token-shaped credential masked."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, _MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + _MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # A traceback is rendered later by the handler; render it now, redacted.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_DEFAULT_LOGGERS = ("skill", "router", "httpx", "httpcore", "httpx_sse", "uvicorn")


def install_log_redaction(*names: str) -> None:
    """Attach :class:`RedactingFilter` to jiggle's and httpx's loggers, and to ``names``.

    Idempotent. A logger's filters do not see records that propagate up from its children, so a
    module that logs to a child logger (``skill.client``) names it here.
    """
    for name in (*_DEFAULT_LOGGERS, *names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
