"""Notification sinks: what a ``[[notify]]`` table says, what is sent, and how a sink is
shown without its secrets.

A sink is a webhook (an HTTP POST of the message) or a command (run without a shell, the
message on its standard input), in its ``format`` (:mod:`intelligentos.domain.messages`),
with optional filters on the incident notices it gets (:meth:`NotifySink.wants`):
``min_severity``, ``rules`` and ``agents``; ``demo = true`` also sends a demo store's
notices, which are made up and otherwise sent nowhere. The outbox (:class:`OutboxEntry`,
:func:`next_attempt`) is sent by :mod:`intelligentos.services.notify`.

A webhook URL may carry a token (in its query, its path or as a password), so a sink is
never shown whole: :func:`mask_url` keeps the scheme, host, port and first path segment
(``https://hooks.example.com/services/…?…``, ``https://user:***@host/…``), and
:func:`scrub` takes the secret parts out of any text (an error message) before it is shown.

A user and password in a webhook URL are sent as basic authentication, in plain text, so
they are refused with ``http://`` unless the host is the loopback (:func:`is_loopback`).

Pure Python: no SQL, no I/O.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from intelligentos.domain.detection import Rule, Severity

ELLIPSIS = "…"
# A first path segment shown as it is reads like a word ("services", "hooks", "api"); one
# with digits, or this long, may be a token.
_WORDLIKE = re.compile(r"^[A-Za-z_.~-]{1,23}$")


class NotifySink(BaseModel):
    """One ``[[notify]]`` table. Exactly one of ``webhook`` and ``command``.

    Unknown keys are refused rather than ignored: a misspelt filter (``min_severty``) would
    otherwise send more than was asked for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook: str | None = None
    command: tuple[str, ...] | None = Field(default=None, min_length=1)
    agents: tuple[str, ...] = ()
    # Only notices whose face alert is of one of these rules (empty: every rule).
    rules: tuple[Rule, ...] = ()
    min_severity: Literal["warning", "critical"] | None = None
    # A demo store's alerts are made up: they reach only the sinks that ask for them.
    demo: bool = False
    # What the sink receives (intelligentos.domain.messages): "json" (versioned), "text",
    # "slack" (incoming-webhook blocks) or "pagerduty" (Events API v2, with routing_key).
    format: Literal["json", "text", "slack", "pagerduty"] = "json"
    routing_key: str | None = Field(default=None, min_length=1)
    # A Jinja2 template for the headline, rendered in a sandbox (intelligentos.domain.templates).
    headline: str | None = Field(default=None, min_length=1)
    # The message's link line, a template too (a dashboard URL with {{ kpi_id }} in it); by
    # default the cockpit's command that lists the store's incidents.
    link: str | None = Field(default=None, min_length=1)

    @field_validator("headline", "link")
    @classmethod
    def _template(cls, text: str | None, info: ValidationInfo) -> str | None:
        if text is not None:
            from intelligentos.domain.templates import TemplateProblem, compile_headline

            try:
                compile_headline(text, info.field_name or "headline")
            except TemplateProblem as problem:
                raise ValueError(str(problem)) from None
        return text

    @field_validator("webhook")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        # Never the URL itself in the message: it may hold a token, and problems are shown.
        if any(ch.isspace() for ch in url):
            raise ValueError("a URL cannot contain spaces")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("not a valid URL") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        has_credentials = parts.username is not None or parts.password is not None
        if has_credentials and parts.scheme.lower() == "http" and not is_loopback(parts.hostname):
            # Basic authentication is the password in plain text: over http:// anyone on the
            # way can read it. To this machine's loopback it never crosses a network.
            raise ValueError(
                f"{mask_url(url)} would send its user and password unencrypted; use "
                "https://, or a URL without credentials"
            )
        return url

    @field_validator("command", mode="before")
    @classmethod
    def _argv(cls, argv: object) -> object:
        if isinstance(argv, str):
            raise ValueError(
                'must be a list of arguments, e.g. ["notify-send", "Alert"] (it runs without '
                "a shell)"
            )
        return argv

    @field_validator("command")
    @classmethod
    def _program(cls, argv: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if argv is not None and not argv[0].strip():
            raise ValueError("the first argument must name a program")
        return argv

    @field_validator("agents", mode="before")
    @classmethod
    def _agent_list(cls, agents: object) -> object:
        if isinstance(agents, str):
            raise ValueError('must be a list of agent ids, e.g. ["cro"]')
        return agents

    @field_validator("rules", mode="before")
    @classmethod
    def _rule_list(cls, rules: object) -> object:
        if isinstance(rules, str):
            raise ValueError('must be a list of rule names, e.g. ["target", "forecast"]')
        return rules

    @model_validator(mode="after")
    def _one_target(self) -> NotifySink:
        if (self.webhook is None) == (self.command is None):
            raise ValueError("give exactly one of webhook = URL or command = [argv]")
        if self.format == "pagerduty" and self.routing_key is None:
            raise ValueError('format = "pagerduty" needs routing_key (the integration key)')
        if self.format != "pagerduty" and self.routing_key is not None:
            raise ValueError('routing_key applies to format = "pagerduty" only')
        return self

    @property
    def label(self) -> str:
        """The sink as shown and as logged in ``deliveries.sink``: masked, plus a short
        fingerprint of the whole target, so that two webhooks that mask alike (two channels
        of one service) stay two sinks."""
        digest = hashlib.sha256(self._target.encode("utf-8")).hexdigest()[:6]
        if self.webhook is not None:
            return f"{mask_url(self.webhook)} #{digest}"
        argv = self.command or ("",)
        more = f" {ELLIPSIS}" if len(argv) > 1 else ""
        return f"command {argv[0]}{more} #{digest}"

    @property
    def _target(self) -> str:
        if self.webhook is not None:
            return "webhook " + self.webhook
        return "command " + json.dumps(list(self.command or ()))

    def secrets(self) -> list[str]:
        """Parts of the target never to show (for :func:`scrub`)."""
        if self.routing_key is not None:
            found = url_secrets(self.webhook) if self.webhook is not None else []
            return [*found, self.routing_key]
        if self.webhook is not None:
            return url_secrets(self.webhook)
        # Arguments after the program may carry a token (curl -H "Authorization: …").
        return [arg for arg in (self.command or ())[1:] if len(arg) >= 4]

    def wants(self, severity: Severity, rule: str, notified: Iterable[str]) -> bool:
        """Whether a notice of this severity, about an alert of this rule, notifying these
        agents, is for this sink: at least its ``min_severity``, one of its ``rules``, and
        notifying one of its ``agents`` (with none given: notifying anyone at all)."""
        if self.min_severity is not None and severity.rank < Severity(self.min_severity).rank:
            return False
        if self.rules and rule not in {r.value for r in self.rules}:
            return False
        who = set(notified)
        return bool(who) if not self.agents else not who.isdisjoint(self.agents)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's host name) is this machine's loopback: ``localhost`` or an
    address in 127.0.0.0/8 or ``::1``. Other names are not trusted to resolve there."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split(url: str) -> tuple[Any, list[str]] | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError:
        return None
    return parts, [segment for segment in parts.path.split("/") if segment]


def mask_url(url: str) -> str:
    """``url`` without anything that may be a secret: the query and fragment become ``?…``
    and ``#…``, a password ``***`` (a user name alone, which may be a token, too), and the
    path after its first segment ``…`` (the first one as well unless it reads like a word).
    """
    split = _split(url)
    if split is None:
        return f"(an invalid URL {ELLIPSIS})"
    parts, segments = split
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    user = ""
    if parts.password is not None:
        user = f"{parts.username or ''}:***@"
    elif parts.username:
        user = "***@"
    path = ""
    if segments:
        first = segments[0] if _WORDLIKE.match(segments[0]) else ELLIPSIS
        path = f"/{first}" + (f"/{ELLIPSIS}" if len(segments) > 1 and first != ELLIPSIS else "")
    elif parts.path:
        path = "/"
    query = f"?{ELLIPSIS}" if parts.query else ""
    fragment = f"#{ELLIPSIS}" if parts.fragment else ""
    return f"{parts.scheme}://{user}{host}{port}{path}{query}{fragment}"


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that :func:`mask_url` hides, the whole URL first."""
    split = _split(url)
    if split is None:
        return [url]
    parts, segments = split
    # A user name is shown beside a password, hidden when alone (it may be the token).
    user = parts.username if parts.password is None else None
    found = [url, parts.password or "", user or "", parts.query, parts.fragment]
    shown = segments[:1] if segments and _WORDLIKE.match(segments[0]) else []
    found += [segment for segment in segments if segment not in shown]
    return [secret for secret in found if len(secret) >= 3]


def scrub(text: str, secrets: Sequence[str], label: str = "") -> str:
    """``text`` (an error message) with each of ``secrets`` replaced: the first (the whole
    target) by ``label``, the others by ``***``; longest first, so that a part inside
    another is never left half shown."""
    placeholder = "\x00"
    if secrets and label:
        text = text.replace(secrets[0], placeholder)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text.replace(placeholder, label)


# Digits a number keeps in a body: enough for any KPI value to the cent up to 99 million,
# few enough to drop the residue of binary arithmetic (21.005000000000003 is 21.005).
SIGNIFICANT_DIGITS = 10


def encode(document: dict[str, Any]) -> bytes:
    """The body as sent: UTF-8 JSON, each number rounded to :data:`SIGNIFICANT_DIGITS`
    significant digits (a NaN value, which JSON lacks, as null)."""
    return json.dumps(_finite(document), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
