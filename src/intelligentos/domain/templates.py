"""A sink's own headline: a Jinja2 template rendered in Jinja2's sandbox, so a template in a
config file can read the message's fields and nothing else (no attribute of Python's
internals, no file, no call it was not given).

The template sees ``subject``, ``severity``, ``state``, ``rule``, ``value`` and ``expected``
(formatted by the KPI's unit), ``gap`` (``−11.4%``), ``owner``, ``driver``, ``notice`` and
``headline`` (the default one). An undefined name is an error, not an empty string: a typo in
a template should say so. A template that fails to render falls back to the default headline
(the caller warns once).

Pure Python: no SQL, no I/O.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Template

    from intelligentos.domain.messages import IncidentMessage


class TemplateProblem(ValueError):
    """A template that does not compile or render; the message says why, in one sentence."""


@cache
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # Plain text out (Slack's and PagerDuty's escaping is the format's business, after).
    return ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


@cache
def compile_headline(text: str, what: str = "headline") -> Template:
    """The compiled template (``what`` names it in the sentence of a
    :class:`TemplateProblem`: the headline or the link)."""
    from jinja2 import TemplateError

    try:
        template: Template = _environment().from_string(text)
    except TemplateError as error:
        raise TemplateProblem(f"the {what} template does not compile: {error}") from None
    return template


def fields_of(message: IncidentMessage) -> dict[str, Any]:
    from intelligentos.domain.alerts import number_text
    from intelligentos.domain.messages import gap_text, headline

    face = message.face
    return {
        "subject": message.subject,
        "severity": face.severity.value,
        "state": message.state.value,
        "rule": face.rule,
        "value": number_text(face.value, message.kpi),
        "expected": number_text(face.expected, message.kpi),
        "gap": gap_text(face),
        "owner": message.owner,
        "driver": message.driver,
        "notice": message.notice.value,
        "headline": headline(message),
        "incident_id": message.incident_id,
        "kpi_id": face.kpi_id or "",
        "system_id": face.system_id or "",
    }


def render_headline(text: str, message: IncidentMessage, what: str = "headline") -> str:
    """The template's headline (or link: ``what``) for ``message`` (one line: newlines
    become spaces); :class:`TemplateProblem` when it cannot be rendered."""
    template = compile_headline(text, what)
    try:
        rendered = template.render(fields_of(message))
    except Exception as error:  # the template's own (1 / 0, "%d" % text): never the sender's
        raise TemplateProblem(f"the {what} template failed: {error}") from None
    return " ".join(rendered.split())
