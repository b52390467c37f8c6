import pytest

from bot.engine.text import normalise, split_questions, split_sentences


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("What's a BACK-END dev?", "what a back end dev"),
        ("Développeur   back-end", "developpeur back end"),
        ("I don't know, can't you tell?", "i do not know can not you tell"),
        ("soooo  cooool!!!", "soo cool"),
        ("it\u2019s   fine", "it fine"),
        ("", ""),
        ("🙂🙂", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_applies_symbols_before_punctuation() -> None:
    assert normalise("C# or node.js?", {"c#": " csharp ", "node.js": " nodejs "}) == "csharp or nodejs"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi! how much do devs earn? and which language first", ["hi!", "how much do devs earn?", "and which language first"]),
        ("Version 1.2 is out. Next question", ["Version 1.2 is out.", "Next question"]),
        ("one\n\ntwo", ["one", "two"]),
        ("   ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what do they earn and which school is best?", ["what do they earn", "which school is best?"]),
        ("Salary? And do I need a degree", ["Salary?", "And do I need a degree"]),
        ("frameworks for java and python", ["frameworks for java and python"]),
        ("skills and qualities", ["skills and qualities"]),
    ],
)
def test_split_questions(text: str, expected: list[str]) -> None:
    assert split_questions(text) == expected
