"""A sink's headline template: rendered in the sandbox, strict about names, and checked
when the sink is read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from intelligentos.domain.notify import NotifySink
from intelligentos.domain.templates import TemplateProblem, render_headline

from .test_messages_domain import OPENED

MINUS = "\N{MINUS SIGN}"


def test_a_template_reads_the_messages_fields():
    text = "[{{ severity|upper }}] {{ subject }} at {{ value }} ({{ gap }}) → {{ owner }}"
    assert render_headline(text, OPENED) == (
        f"[CRITICAL] Gross Margin % at 63.8% ({MINUS}11.4%) → CFO Agent"
    )
    # One line, whatever the template's layout.
    assert render_headline("{{ subject }}\n\n{{ owner }}", OPENED) == "Gross Margin % CFO Agent"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ subjet }}", "'subjet' is undefined"),  # a typo says so
        ("{{ subject.__class__.__mro__ }}", "failed"),  # the sandbox refuses internals
        ("{{ ''.__class__.__subclasses__() }}", "failed"),
        # Python's own errors in a template are its failures too, never the sender's crash.
        ("{{ 1 / 0 }}", "the headline template failed: division by zero"),
        ("{{ '%d' % subject }}", "the headline template failed"),
    ],
)
def test_a_template_that_fails_is_one_sentence(text, expected):
    with pytest.raises(TemplateProblem, match=expected):
        render_headline(text, OPENED)


def test_a_sink_is_checked_for_its_format_key_and_template():
    sink = NotifySink(
        webhook="https://events.pagerduty.com/v2/enqueue", format="pagerduty", routing_key="R0UT"
    )
    assert "R0UT" in sink.secrets()  # never shown
    for given, expected in [
        ({"format": "teams"}, "format"),
        ({"format": "pagerduty"}, "needs routing_key"),
        ({"routing_key": "R0UT"}, 'applies to format = \\"pagerduty\\" only'),
        ({"headline": "{{ subject"}, "does not compile"),
    ]:
        with pytest.raises(ValidationError, match=expected):
            NotifySink(webhook="https://hooks.example.com/x", **given)
