"""JSON files: an array of objects (streamed, never loaded whole) or JSON Lines."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from intelligentos.services.imports.model import CHUNK, Problem, Raw


def jsonl_rows(text: io.TextIOBase, name: str) -> Iterator[Raw | Problem]:
    for line_number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield Problem(name, line_number, "-", f"not valid JSON: {error.msg}")
            continue
        if not isinstance(item, dict):
            yield Problem(name, line_number, "-", "each line must be a JSON object")
            continue
        yield line_number, item


def json_array_rows(text: io.TextIOBase, name: str) -> Iterator[Raw | Problem]:
    """Stream the objects of a top-level JSON array without loading the whole file."""
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    started = False
    index = 0
    eof = False

    def fill() -> bool:
        nonlocal buffer, position, eof
        chunk = text.read(CHUNK)
        if not chunk:
            eof = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    def skip_space() -> None:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            if position < len(buffer) or not fill():
                return

    skip_space()
    if position >= len(buffer):
        yield Problem(name, 0, "-", "the file is empty")
        return
    if buffer[position] != "[":
        yield Problem(name, 1, "-", "expected a JSON array of objects")
        return
    position += 1
    while True:
        skip_space()
        if position >= len(buffer):
            yield Problem(name, index + 1, "-", "the JSON array is not closed")
            return
        if buffer[position] == "]":
            position += 1
            skip_space()
            if position < len(buffer):
                yield Problem(name, index + 1, "-", "unexpected data after the JSON array")
            return
        if started:
            if buffer[position] != ",":
                yield Problem(name, index + 1, "-", "expected ',' between array items")
                return
            position += 1
            skip_space()
        while True:
            try:
                item, end = decoder.raw_decode(buffer, position)
                break
            except json.JSONDecodeError as error:
                if eof or not fill():
                    yield Problem(name, index + 1, "-", f"not valid JSON: {error.msg}")
                    return
        position = end
        started = True
        index += 1
        if not isinstance(item, dict):
            yield Problem(name, index, "-", "each array item must be a JSON object")
            continue
        yield index, item
