"""Property: respond() never raises and always returns a well-formed reply."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.dialogue import Dialogue
from bot.engine.render import plain

TEXTS = st.text(max_size=10_000) | st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
WORDS = st.lists(st.sampled_from(["backend", "salary", "and", "for", "python", "?", "!", "🙂", "junior", "c#", "'"]), max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=TEXTS, conversation=st.sampled_from([None, "p1", "p2"]))
def test_respond_never_raises(dialogue: Dialogue, text: str, conversation: str | None) -> None:
    reply = dialogue.respond(text, conversation)
    assert reply.kind in ("answer", "smalltalk", "fallback")
    assert reply.text.strip()
    assert 0.0 <= reply.score <= 1.0
    assert len(reply.suggestions) <= 3
    assert plain(reply.text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=WORDS)
def test_respond_handles_domain_word_soup(dialogue: Dialogue, words: list[str]) -> None:
    reply = dialogue.respond(" ".join(words), "soup")
    assert reply.kind in ("answer", "smalltalk", "fallback")
    assert reply.text.strip()
