"""Names cut to the cells they get: at a word boundary, and apart from the names beside them."""

from __future__ import annotations

from collections.abc import Sequence

from intelligentos.domain.formatting import literal


def fit(text: str, width: int) -> str:
    """Shorten to ``width`` cells at a word boundary, marking the cut with an ellipsis. A
    word boundary that would keep less than half the room gives way to a cut inside the
    word: "Pulse Participat…" says more than "Pulse…"."""
    text = literal(text)
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    cut = text[: width - 1]
    if " " in cut and not text[width - 1].isspace():
        at_word = cut.rsplit(" ", 1)[0].rstrip()
        if len(at_word) * 2 >= width - 1:
            cut = at_word
    return cut.rstrip() + "…"


def _common_prefix(first: str, second: str) -> int:
    size = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        size += 1
    return size


def _cut_apart(name: str, rivals: Sequence[str], width: int) -> str:
    """``name`` in ``width`` cells, keeping the first character where it differs from
    every rival (names that start the way its plain cut would)."""
    differs_at = max(_common_prefix(name, rival) for rival in rivals)
    if differs_at >= len(name) or width < 4:
        return fit(name, width)  # a rival starts with all of it: nothing tells them apart
    if differs_at < width - 1:
        cut = name[: width - 1]
        return (cut.rstrip() if len(cut.rstrip()) > differs_at else cut) + "…"
    # Too narrow for the start and the difference: keep the start, skip to the word
    # that differs ("Lead…Diversity").
    word = name.rfind(" ", 0, differs_at) + 1
    tail = name[word:]
    head = max(1, width - 1 - len(tail))
    shown = name[:head] + "…" + tail
    return shown if len(shown) <= width else shown[: width - 1] + "…"


class FitApart:
    """:func:`fit` the names of one panel; a cut name that would read as the start of
    another name there ("Leadership…" beside "Leadership Trust") keeps the characters
    that tell them apart ("Leadership Di…"). Each name is worked out when first asked
    for: a panel of thousands of KPIs draws only the few in view."""

    def __init__(self, names: Sequence[str], width: int) -> None:
        self.plain = [literal(name) for name in names]
        self.width = width
        self.ordered = sorted(set(self.plain))
        self.position = {name: index for index, name in enumerate(self.ordered)}
        self.shown: dict[int, str] = {}

    def __getitem__(self, index: int) -> str:
        if index not in self.shown:
            self.shown[index] = self._fit(self.plain[index])
        return self.shown[index]

    def _fit(self, name: str) -> str:
        text = fit(name, self.width)
        if text == name:
            return text
        stem = text[:-1]
        # In sorted order, the names sharing the most with this one are its neighbours:
        # if any other name starts with the stem, a neighbour does, and it shares the
        # longest prefix.
        at, ordered = self.position[name], self.ordered
        rivals = [
            ordered[i]
            for i in (at - 1, at + 1)
            if 0 <= i < len(ordered) and ordered[i].startswith(stem)
        ]
        return _cut_apart(name, rivals, self.width) if rivals else text


def fit_apart(names: Sequence[str], width: int) -> list[str]:
    """Every name of one panel as :class:`FitApart` shows it."""
    fitted = FitApart(names, width)
    return [fitted[index] for index in range(len(names))]
