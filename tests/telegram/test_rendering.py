"""Markdown -> text + entities, and splitting long texts without losing or breaking entities."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram.rendering import Chunk, _Span, escape, fill, render, split, utf16_len


def covered(chunks: list[Chunk]) -> dict[str, str]:
    """Per entity type, the non-space characters it formats, in order across chunks (overlaps merged)."""
    out: dict[str, str] = {}
    for chunk in chunks:
        units = chunk.text.encode("utf-16-le")
        positions: dict[str, set[int]] = {}
        for entity in chunk.entities:
            positions.setdefault(entity.type, set()).update(range(entity.offset, entity.offset + entity.length))
        for kind, where in positions.items():
            chars = b"".join(units[2 * i : 2 * i + 2] for i in sorted(where)).decode("utf-16-le", errors="replace")
            out[kind] = out.get(kind, "") + "".join(chars.split())
    return {kind: chars for kind, chars in out.items() if chars}  # formatting on whitespace alone is invisible


def check_chunks(chunks: list[Chunk], limit: int) -> None:
    for chunk in chunks:
        assert chunk.text
        assert chunk.text == chunk.text.strip()
        assert utf16_len(chunk.text) <= limit
        for entity in chunk.entities:
            assert entity.length > 0
            assert entity.offset >= 0
            assert entity.offset + entity.length <= utf16_len(chunk.text)


def test_short_markdown_is_one_chunk_with_entities() -> None:
    [chunk] = render("A **bold** move and a [link](https://example.org)")
    assert chunk.text == "A bold move and a link"
    types = {e.type: (e.offset, e.length) for e in chunk.entities}
    assert types["bold"] == (2, 4)
    assert types["text_link"] == (18, 4)


def test_fill_escapes_values_so_they_show_literally() -> None:
    [chunk] = render(fill("Mention {bot} or ask *{x}*; keep {unknown}", {"bot": "@my_faq_bot_", "x": "a*b"}))
    assert chunk.text == "Mention @my_faq_bot_ or ask a*b; keep {unknown}"
    assert [e.type for e in chunk.entities] == ["italic"]


def test_escape_covers_markdown_punctuation() -> None:
    [chunk] = render(escape("**not bold** _nor_ [a](b) `c` # d"))
    assert chunk.text == "**not bold** _nor_ [a](b) `c` # d"
    assert chunk.entities == ()


def test_long_text_splits_at_paragraphs_and_keeps_every_entity() -> None:
    paragraph = "Some **important** words and *more* words. " * 20
    markdown = "\n\n".join([paragraph.strip()] * 15)
    whole = render(markdown, limit=100_000)
    chunks = render(markdown)
    assert len(chunks) > 1
    check_chunks(chunks, 4096)
    assert covered(chunks) == covered(whole)
    assert all(chunk.text.endswith("words.") for chunk in chunks)  # cut between paragraphs


def test_an_entity_longer_than_a_message_continues_in_the_next() -> None:
    code = "\n".join(f"line {i} = {i * 2}" for i in range(800))
    markdown = f"Intro text.\n\n```python\n{code}\n```\n\nOutro."
    chunks = render(markdown)
    assert len(chunks) >= 2
    check_chunks(chunks, 4096)
    pre = [e for c in chunks for e in c.entities if e.type == "pre"]
    assert len(pre) >= 2
    assert all(e.language == "python" for e in pre)
    assert covered(chunks) == covered(render(markdown, limit=100_000))


def test_limits_are_counted_in_utf16_units() -> None:
    chunks = render("😀" * 3000)
    assert len(chunks) == 2
    check_chunks(chunks, 4096)
    assert "".join(c.text for c in chunks) == "😀" * 3000


def test_no_empty_chunks() -> None:
    assert render("") == []
    assert render("   \n\n  ") == []


spans = st.lists(st.tuples(st.integers(0, 300), st.integers(1, 80), st.sampled_from(["bold", "italic", "code"])), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab c.\n😀é")), min_size=0, max_size=300),
    raw=spans,
    limit=st.integers(2, 120),
)
def test_split_never_exceeds_the_limit_nor_loses_formatting(text: str, raw: list[tuple[int, int, str]], limit: int) -> None:
    total = utf16_len(text)
    boundaries = set()
    offset = 0
    for ch in text:
        boundaries.add(offset)
        offset += utf16_len(ch)
    boundaries.add(offset)
    entities = []
    for start, length, kind in raw:
        end = min(start + length, total)
        if start in boundaries and end in boundaries and end > start:
            entities.append(_Span(kind, start, end))
    chunks = split(text, entities, limit)
    check_chunks(chunks, limit)
    assert "".join("".join(c.text.split()) for c in chunks) == "".join(text.split())
    whole = split(text, entities, 10_000)
    assert covered(chunks) == covered(whole)


def test_the_conversion_is_cached_and_immutable() -> None:
    from bot.telegram.rendering import convert

    markdown = "**Cached** answer with `code` and a [link](https://example.com/cached)."
    first = render(markdown)
    hits = convert.cache_info().hits
    first.append(Chunk("mutated by a caller"))
    second = render(markdown)
    assert convert.cache_info().hits == hits + 1
    assert len(second) == 1
    assert second[0] == first[0]
    text, spans = convert(markdown)
    assert isinstance(text, str)
    assert isinstance(spans, tuple)
    assert [s.type for s in spans] == ["bold", "code", "text_link"]
