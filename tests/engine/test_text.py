import pytest

from bot.engine.text import (
    compatible_letters,
    fill,
    is_question,
    normalise,
    split_questions,
    split_sentences,
    without_handles,
    without_vocatives,
)


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
        ("Is the self-taught path hard vs. going to a university?", ["Is the self-taught path hard vs. going to a university?"]),
        ("Hiring a Sr. Java dev, e.g. at a bank. Why?", ["Hiring a Sr. Java dev, e.g. at a bank.", "Why?"]),
        ("I tried Go. Should I stay?", ["I tried Go.", "Should I stay?"]),
        ("   ", []),
        # Numbered items, on one line or on several, without their numbers
        ("1) what languages 2) which frameworks", ["what languages", "which frameworks"]),
        ("1. do I need a degree\n2. what skills?", ["do I need a degree", "what skills?"]),
        ("I earn 40k. Is that 2 much?", ["I earn 40k.", "Is that 2 much?"]),
        ("3.5 years of experience, is that senior?", ["3.5 years of experience, is that senior?"]),
        # A full stop or an ellipsis typed without its space; names and degrees with a full stop inside stay whole
        ("I know some web dev.What should I learn next?", ["I know some web dev.", "What should I learn next?"]),
        ("so...is it worth it", ["so...", "is it worth it"]),
        ("Is Node.js enough? Or React.Js? A B.Tech or a Ph.D?", ["Is Node.js enough?", "Or React.Js?", "A B.Tech or a Ph.D?"]),
        ("HIRING SR. DEVS. Apply now", ["HIRING SR. DEVS.", "Apply now"]),
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
        ("👋", ["👋"]),
        ("   ", []),
    ],
)
def test_split_questions(text: str, expected: list[str]) -> None:
    questions = split_questions(text)
    assert [q.text for q in questions] == expected
    assert [q.read for q in questions] == expected  # nothing points back


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        # A clause pointing back at a thing is read with the words it points back at, in the same sentence or the one before.
        ("what is docker and why do we use it?", ["what is docker", "what is docker and why do we use it?"]),
        ("Dev lead vs tech lead\nWhy both?", ["Dev lead vs tech lead", "Dev lead vs tech lead Why both?"]),
        ("what is a and what is b and is this good", ["what is a", "what is b", "what is b and is this good"]),
        ("what is a dba and how do I become one?", ["what is a dba", "what is a dba and how do I become one?"]),
        # "one" points back only where it ends the clause.
        ("what is a dba and is one language enough", ["what is a dba", "is one language enough"]),
        # "they" means the developers, named or not: it does not point back.
        ("what do backend devs do and how much do they earn", ["what do backend devs do", "how much do they earn"]),
        # The "it" of "worth it" and "make it" names nothing; another "it" still points back.
        ("should I learn java? is a master's worth it", ["should I learn java?", "is a master's worth it"]),
        ("what is docker? is it worth it", ["what is docker?", "what is docker? is it worth it"]),
        ("I am 40. will I make it", ["I am 40.", "will I make it"]),
        # The "that" that opens a clause names nothing; a demonstrative "that" still points back.
        (
            "should I learn java? do companies care that I have no degree",
            ["should I learn java?", "do companies care that I have no degree"],
        ),
        ("should I learn java? is that a good idea", ["should I learn java?", "should I learn java? is that a good idea"]),
        # "which is the best?" picks among what was named before; a relative "which" does not.
        ("Python, Java or PHP? which is the easiest", ["Python, Java or PHP?", "Python, Java or PHP? which is the easiest"]),
        ("I use Node and which is such a good choice", ["I use Node", "which is such a good choice"]),
        # "which one ..." picks among what was named before, wherever "one" stands.
        (
            "Django or Flask? which one would you pick for a beginner",
            ["Django or Flask?", "Django or Flask? which one would you pick for a beginner"],
        ),
    ],
)
def test_a_clause_that_points_back_is_read_with_its_antecedent(text: str, reads: list[str]) -> None:
    assert [q.read for q in split_questions(text)] == reads


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        # A question word alone after "and" asks the reason (or the way) of the clause before: one question, asked.
        ("If you aim at backend work, which path do you recommend and why?", ["If you aim at backend work, which path do you recommend?"]),
        ("Tell me which language to work with, and why.", ["Tell me which language to work with"]),
        ("where do the old devs go and why not?", ["where do the old devs go?"]),
        # A question word with words of its own still asks a second question.
        ("which language to pick and why is it popular?", ["which language to pick", "which language to pick and why is it popular?"]),
    ],
)
def test_a_bare_question_word_after_and_belongs_to_the_clause_before(text: str, reads: list[str]) -> None:
    questions = split_questions(text)
    assert [q.read for q in questions] == reads
    assert questions[-1].asks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Questions strung with commas, each opening like a question: one question each.
        (
            "what is backend, how much do they earn, what to learn first",
            ["what is backend", "how much do they earn", "what to learn first"],
        ),
        ("hey, whats the pay, why is it so low?", ["hey, whats the pay", "why is it so low?"]),
        # What comes before the comma sets the scene or opens a relative clause: one question.
        (
            "Apart from the technical knowledge, what kind of mindset helps?",
            ["Apart from the technical knowledge, what kind of mindset helps?"],
        ),
        ("If I learn Python, how long until I get a job?", ["If I learn Python, how long until I get a job?"]),
        ("When hiring a junior, what do they do first?", ["When hiring a junior, what do they do first?"]),
        ("Is it an admin job, where managing matters most?", ["Is it an admin job, where managing matters most?"]),
        ("Hi, how are you doing?", ["Hi, how are you doing?"]),
    ],
)
def test_questions_strung_with_commas_are_split_only_after_a_question(text: str, expected: list[str]) -> None:
    assert [q.text for q in split_questions(text)] == expected


def test_a_question_after_a_label_is_split_from_the_next_one() -> None:
    questions = split_questions("hey bot, quick q: whats the salary for a junior and what languages should i know?")
    assert [q.text for q in questions] == ["hey bot, quick q: whats the salary for a junior", "what languages should i know?"]
    assert all(q.asks for q in questions)


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        # Two things asked under one "what are": each is read with it.
        ("what are the top languages and the salaries of juniors?", ["what are the top languages", "what are the salaries of juniors?"]),
        # Two things compared, or "and" inside one thing: one question.
        ("what is the gap between the front end and the back end work", ["what is the gap between the front end and the back end work"]),
        ("which are the languages and their frameworks", ["which are the languages and their frameworks"]),
        ("how do I learn sql and the frameworks", ["how do I learn sql and the frameworks"]),
    ],
)
def test_noun_phrases_asked_under_one_head(text: str, reads: list[str]) -> None:
    questions = split_questions(text)
    assert [q.read for q in questions] == reads
    assert all(q.asks for q in questions)


@pytest.mark.parametrize(
    ("sentence", "asks"),
    [
        ("do I need a degree", True),
        ("also do I need a degree", True),
        ("hey, how much do they earn", True),
        ("oh and btw which language first", True),
        ("ok thanks", False),
        ("also I work in retail", False),
        ("I studied biology", False),
        ("will backend developers still be needed", True),
        ("can I learn it alone", True),
        ("Will do that.", False),
        ("would love to hear more!", False),
        ("will definitely try it", False),
        ("will do that?", True),
        ("whats the pay like", True),
        ("hows the job market", True),
        ("hey bot, which language first", True),
        ("hello there, how much do they earn", True),
        ("quick q: whats the salary for a junior", True),
        ("Question: which language first", True),
        ("hi there, quick question - what does a backend dev do", True),
        ("hey guys, one quick question, do I need a degree", True),
        ("sorry, what is a framework", True),
        ("quick question for everyone", False),
        ("sorry I work nights", False),
        ("There are so many frameworks", False),
        ("Note: I work nights", False),
        ("update: will do that", False),
    ],
)
def test_a_question_is_told_by_its_mark_or_its_opening_chat_lead_ins_aside(sentence: str, asks: bool) -> None:
    assert is_question(sentence) is asks


def test_fill_replaces_known_placeholders_and_keeps_every_other_brace() -> None:
    template = "I don't know about **{value}** {here} { {0} {"
    assert fill(template, {"value": "Rust"}) == "I don't know about **Rust** {here} { {0} {"


def test_full_width_and_styled_letters_are_made_plain_and_punctuation_is_kept() -> None:
    assert compatible_letters("ｓａｌａｒｙ 𝐨𝐟 ａ ｊｕｎｉｏｒ… “dev” café") == "salary of a junior… “dev” café"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Cyrillic "е" and "а" inside Latin words (a switched keyboard, or a page hiding its words) read as Latin letters.
        ("Is Back\u0435nd Engin\u0435\u0435ring in D\u0435mand?", "Is Backend Engineering in Demand?"),
        ("j\u0430v\u0430 or python", "java or python"),
        # Words wholly in another script are kept, so that another language is still told; accents are not look-alikes.
        ("\u0437\u0430\u0440\u043f\u043b\u0430\u0442\u0430 backend", "\u0437\u0430\u0440\u043f\u043b\u0430\u0442\u0430 backend"),
        ("caf\u00e9 r\u00e9sum\u00e9", "caf\u00e9 r\u00e9sum\u00e9"),
    ],
)
def test_look_alike_letters_inside_a_latin_word_are_made_latin(raw: str, expected: str) -> None:
    assert compatible_letters(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Thanks @alice, and the pay?", "Thanks   and the pay?"),
        ("@bob_99: how much does a junior earn?", "  how much does a junior earn?"),
        ("write to me@example.com or a.b@c.org", "write to me@example.com or a.b@c.org"),
        ("@ alone, or @x", "@ alone, or @x"),
        ("no handle here", "no handle here"),
    ],
)
def test_handles_are_removed_and_email_addresses_kept(raw: str, expected: str) -> None:
    assert without_handles(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("🎉 Thanks Roeland!", "🎉 Thanks!"),
        ("Hey, Kent! What do you earn?", "Hey! What do you earn?"),
        ("Hi Scott Hanselman, what is a backend developer?", "Hi, what is a backend developer?"),
        ("thanks Bob", "thanks"),
        ("Hi Python developers, what do you use?", "Hi Python developers, what do you use?"),  # not a name: words follow
        ("Hi there!", "Hi there!"),  # not capitalised
        ("Is Django better? Thanks a lot", "Is Django better? Thanks a lot"),
        ("how are you, Dinda?", "how are you?"),
        ("How's it going, Sarah Connor!\nAnd the pay?", "How's it going!\nAnd the pay?"),
        ("Salary, Junior or Senior?", "Salary, Junior or Senior?"),  # not a name: "or" is no part of one
        ("how are you Dinda?", "how are you Dinda?"),  # without the comma, a name is not told from a subject
    ],
)
def test_names_greeted_thanked_or_asked_are_removed(raw: str, expected: str) -> None:
    assert without_vocatives(raw) == expected


def test_a_greeting_addressing_people_by_a_known_word_keeps_it() -> None:
    known = frozenset({"python", "backend"})
    assert without_vocatives("Hey Python Devs, which framework?", known) == "Hey Python Devs, which framework?"
    assert without_vocatives("Hello Backend, hi Kent!", known) == "Hello Backend, hi!"
    assert without_vocatives("Which one is better, Python?", known) == "Which one is better, Python?"
