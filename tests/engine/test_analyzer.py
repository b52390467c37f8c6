import random
import string

import pytest

from bot.engine.analyzer import ENTITY_MARK, Analyzer, Lexicon, stem
from bot.engine.core import Engine


@pytest.mark.parametrize(
    ("question", "entity_type", "value"),
    [
        ("pyhton frameworks", "language", "python"),
        ("frameworks for rubby", "language", "ruby"),
        ("what about js", "language", "javascript"),
        ("node.js frameworks", "language", "javascript"),
        ("is C# a backend language", "language", "csharp"),
        ("django or flask?", "language", "python"),
        ("entry-level salary", "seniority", "junior"),
        ("and for mid level devs", "seniority", "experienced"),
        ("seniors?", "seniority", "senior"),
    ],
)
def test_entities_are_found_despite_typos_and_aliases(engine: Engine, question: str, entity_type: str, value: str) -> None:
    assert engine.matcher.analyzer.analyse(question).entities.get(entity_type) == value


@pytest.mark.parametrize(
    ("question", "word"),
    [
        ("how much do back-end devs get payed", "salary"),
        ("wat is a backnd developper", "backend"),
        ("wat is a backnd developper", "developer"),
        ("who are the main contcts", stem("contacts")),
        ("what compnies employ them", "company"),
    ],
)
def test_synonyms_and_spelling_are_canonicalised(engine: Engine, question: str, word: str) -> None:
    assert word in engine.matcher.analyzer.analyse(question).tokens


def test_entity_mentions_become_placeholders(engine: Engine) -> None:
    analysis = engine.matcher.analyzer.analyse("java frameworks")
    assert f"{ENTITY_MARK}language" in analysis.tokens
    assert "java" not in analysis.tokens


def test_unknown_words_are_reported_not_corrected_into_domain_words(engine: Engine) -> None:
    analysis = engine.matcher.analyzer.analyse("zeppelin quixotry")
    assert set(analysis.unknown) == {stem("zeppelin"), stem("quixotry")}
    assert "backend" not in analysis.tokens


@pytest.mark.parametrize("text", ["Q. 1. zeppelin?", "zeppelin(s) e.g. v/s", "zeppelin l, x"])
def test_a_lone_letter_or_digit_is_no_unknown_word(engine: Engine, text: str) -> None:
    # List numbers, initials and cut abbreviations are not a subject the knowledge base lacks; a real word still is.
    analysis = engine.matcher.analyzer.analyse(text)
    assert analysis.unknown == (stem("zeppelin"),)


def test_the_word_an_alias_needs_beside_a_name_keeps_its_meaning(engine: Engine) -> None:
    analysis = engine.matcher.analyzer.analyse("should i learn go")  # "learn go" is an alias of Go
    assert analysis.lacking == {"language": "go"}
    assert "learn" in analysis.content


def test_languages_the_article_never_mentions_count_as_unknown(engine: Engine) -> None:
    analysis = engine.matcher.analyzer.analyse("rust frameworks")
    assert analysis.entities["language"] == "rust"
    assert "rust" in analysis.unknown


@pytest.mark.parametrize(
    ("question", "lacking"),
    [
        ("rust vs golang, which one?", {"language": "rust"}),
        ("golang or python, which one?", {"language": "go"}),  # a value the sources cover is named too
        ("python or golang, which one?", {"language": "go"}),
        ("python or java?", {}),
        ("salary of a senior", {}),
    ],
)
def test_values_the_sources_lack_are_reported_whatever_else_is_named(engine: Engine, question: str, lacking: dict[str, str]) -> None:
    assert dict(engine.matcher.analyzer.analyse(question).lacking) == lacking


@pytest.mark.parametrize("question", ["golang or python, which one?", "python or golang, which one?"])
def test_the_covered_value_is_the_one_answered_whichever_comes_first(engine: Engine, question: str) -> None:
    assert engine.matcher.analyzer.analyse(question).entities == {"language": "python"}


@pytest.mark.parametrize(
    ("question", "entities"),
    [
        ("django or flask?", {"language": "python"}),  # one language, two of its frameworks
        ("django or laravel?", {}),  # two languages compared: no single one
        ("rust or python?", {"language": "python"}),  # one covered value: it is the one answered, rust is lacking
        ("junior or senior pay?", {}),
        ("a senior with 10 years", {"seniority": "senior"}),
    ],
)
def test_an_entity_type_naming_several_covered_values_is_left_out(engine: Engine, question: str, entities: dict[str, str]) -> None:
    assert dict(engine.matcher.analyzer.analyse(question).entities) == entities


def test_listed_spellings_are_read_as_their_word_by_both_sides(engine: Engine) -> None:
    analysis = engine.matcher.analyzer.analyse("wht skils shud i lern")
    assert analysis.corrected == "what skills should i learn"  # the sentence model reads this
    assert "learn" in analysis.content


def test_a_spelling_may_stand_for_several_words(engine: Engine) -> None:
    analysis = engine.matcher.analyzer.analyse("is ror worth it")
    assert analysis.corrected == "is ruby on rails worth it"
    assert analysis.entities == {"language": "ruby"}  # "ruby on rails" names its language, as written out
    assert "framework" in analysis.content


def test_crafted_long_words_are_not_cached(engine: Engine) -> None:
    analyzer = engine.matcher.analyzer
    analyzer.analyse("what is x and y")
    before = analyzer.cached_corrections()
    rng = random.Random(1)
    for _ in range(50):
        crafted = "".join(rng.choices(string.ascii_lowercase, k=4000))
        analyzer.analyse(f"what is {crafted} and b{crafted[:41]}")
    assert analyzer.cached_corrections() == before
    analyzer.analyse("what is a backendd devloper")  # ordinary typos are still cached
    assert analyzer.cached_corrections() > before


def test_short_words_are_not_spell_corrected(engine: Engine) -> None:
    # Words one edit from "lang" (a synonym of language), such as "land": short words have too many neighbours.
    analyzer = engine.matcher.analyzer
    unknown = [word for word in (f"lan{c}" for c in "abcdefhijklmnopqrstuvwxyz") if analyzer.correct(word) != word]
    assert len(unknown) > 10  # most of them are not words of the knowledge base
    assert all(analyzer.correct(word) is None for word in unknown)


def _analyzer(words: list[str], english: list[str]) -> Analyzer:
    return Analyzer(Lexicon(frozenset({"the", "is"}), {}, {}, {}), words, english)


def test_a_real_word_is_never_corrected_into_a_known_word() -> None:
    analyzer = _analyzer(
        ["france", "technology", "server", "swift"], english=["finance", "france", "sever", "shift", "technology", "server", "swift"]
    )
    assert analyzer.correct("finance") is None  # two edits away, and an English word of its own
    assert analyzer.correct("shift") is None  # one edit away, still a word of its own
    assert analyzer.correct("sever") is None
    assert analyzer.correct("techonolgy") == "technology"  # two edits, but no word: a typo
    assert analyzer.correct("servr") == "server"


def test_a_real_word_with_the_stem_of_a_known_word_is_read_as_it() -> None:
    analyzer = _analyzer(["basics"], english=["basic", "basics"])
    assert analyzer.analyse("basic").content == analyzer.analyse("basics").content
    assert analyzer.analyse("basic").unknown == ()


def test_without_an_english_word_list_two_edits_are_corrected() -> None:
    assert _analyzer(["france"], english=[]).correct("finance") == "france"


def test_the_shipped_analyzer_knows_english_words(engine: Engine) -> None:
    analyzer = engine.matcher.analyzer
    far = [w for w in ("finance", "thought", "weather", "instance", "seems", "though", "employees") if w not in analyzer.vocabulary]
    assert far
    assert all(analyzer.correct(word) is None for word in far)
    assert analyzer.correct("servr") == "server"


@pytest.mark.parametrize(
    ("question", "word", "lookalike"),
    [("Is there a shift from Java to Go?", "shift", "swift"), ("How do you scale a backend?", "scale", "scala")],
)
def test_a_real_word_does_not_name_an_entity_it_looks_like(engine: Engine, question: str, word: str, lookalike: str) -> None:
    analyzer = engine.matcher.analyzer
    assert analyzer.analyse(lookalike).entities.get("language") == lookalike  # the language is known by that name
    analysis = analyzer.analyse(question)
    assert lookalike not in {*analysis.entities.values(), *analysis.lacking.values()}
    assert analysis.corrected is None or word in analysis.corrected.split()


def test_the_words_of_a_phrase_are_stemmed_outside_it() -> None:
    synonyms = {"database management systems": "dbms", "dbms": "dbms"}
    analyzer = Analyzer(Lexicon(frozenset({"the", "is", "what"}), synonyms, {}, {}), ["database", "management", "systems", "system"])
    assert "dbms" in analyzer.analyse("what is the database management systems").tokens  # the phrase, as before
    assert analyzer.analyse("operating systems").tokens[-1] == analyzer.analyse("operating system").tokens[-1] == stem("system")
