"""Text normalisation: the same steps for examples and for users' questions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'d\b"), " would"),
    (re.compile(r"'s\b"), ""),
)
_NON_WORD = re.compile(r"[^0-9a-z]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_ABBREVIATIONS = ("vs", "v/s", "e.g", "i.e", "sr", "jr", "dr", "mr", "mrs")
"""A full stop after these ends a word, not a sentence ("Tech Lead vs. Dev Lead", "hiring Sr. Java developers")."""
_NOT_AFTER = "".join(rf"(?<!\b(?i:{re.escape(a)})\.)" for a in _ABBREVIATIONS)
_GLUED = r"(?<=[a-z]{2}\.)(?=[A-Z][a-z]{2})|(?<=\.\.)(?=[A-Za-z])"
"""A full stop typed without its space ("...for web dev.What if I..."), an ellipsis too ("so...is it worth it"); not
"Node.js", "B.Tech" or "Ph.D" (fewer than two small letters before the stop, or no capitalised word after it)."""
_SENTENCE_END = re.compile(rf"(?<=[?!;])\s*|(?<=\.){_NOT_AFTER}\s+|{_GLUED}|\n+|\s+(?=\(?\d{{1,2}}\)\s)")
_LIST_MARKER = re.compile(r"^\(?\d{1,2}[.)](?:\s+|$)")
"""A list's number before its item ("1) what languages 2) which frameworks", "1. do I need a degree")."""
_QUESTION_WORDS = r"what|whats|which|how|hows|who|whos|where|wheres|why|when|do|does|did|is|are|can|could|should|will|would|am"
"""Question words, with the apostrophe chat leaves out ("whats the pay", "hows the market")."""
_POINTS_BACK = re.compile(
    r"\b(?:it|its|this|that|them|both|ones)\b|\bone\W*$|^\W*which\s+one\b|^\W*which\s+(?:is|are)\s+(?:the\s+)?(?:{})\b".format(
        "best|better|worse|worst|most|least|more|less|easiest|easier|hardest|harder|fastest|faster|simplest|simpler"
        "|cheapest|cheaper|safest|safer|highest|higher|greatest|greater|preferred|recommended"
    ),
    re.IGNORECASE,
)
"""A thing named before ("it", "become one", "which ones?", "which one do you recommend?", "which is the most important?",
"which is easier?"); not "they", which in these questions means the developers, named or not."""
_POINTS_NOWHERE = re.compile(r"\b(?:worth|make)\s+it\b|\bthat(?=\s+(?:i|you|we|they|he|she)\b)", re.IGNORECASE)
"""Words that name nothing: the "it" of idioms ("is a master's worth it?", "will I make it?") and the "that" that opens a
clause ("do companies care that I don't have a degree?", "I heard that they pay well"): no pointing back."""
_AND_QUESTION = re.compile(rf",?\s+(?:and|also|plus)\s+(?=(?:{_QUESTION_WORDS})\b)", re.IGNORECASE)
_COMMA_QUESTION = re.compile(r",\s*(?=(?:what|whats|how|hows|why)\b)", re.IGNORECASE)
"""A comma before a question word, where a chat message strings its questions ("what is backend, how much do they
earn"); it starts a new question only after a clause that is itself a question (see `_clauses`). Not "which", "who",
"where" or "when", which after a comma mostly open a relative clause ("an administrative position, where...")."""
_WHEN_CLAUSE = re.compile(r"^\W*(?:when|where)\b", re.IGNORECASE)
"""A clause opening with "when" or "where" before a comma sets the scene ("When hiring a junior, what do they do?")."""
_BARE_QUESTION_WORD = re.compile(r"^\W*(?:what|which|how|who|where|why|when)(?:\s+(?:not|so|exactly))?\W*$", re.IGNORECASE)
"""A question word alone after "and" ("which framework would you pick, and why?"): it asks the reason (or the way) of
the answer to the clause before, about nothing of its own."""


def normalise(text: str, symbols: Mapping[str, str] | None = None) -> str:
    """Return `text` case-folded, accent-free, with contractions expanded.

    Symbols (`c#`, emoji) are rewritten first; punctuation becomes spaces and
    letters repeated three or more times are squeezed to two ("sooo" -> "soo").
    """
    text = text.casefold().translate(_APOSTROPHES)
    for symbol, replacement in (symbols or {}).items():
        if symbol in text:
            text = text.replace(symbol, replacement)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    if "'" in text:  # every contraction has one; most texts have none
        for pattern, replacement in _CONTRACTIONS:
            text = pattern.sub(replacement, text)
        text = text.replace("'", "")
    text = _NON_WORD.sub(" ", text)
    text = _REPEATS.sub(r"\1\1", text)
    return " ".join(text.split())


def points_back(clause: str) -> bool:
    """True when `clause` points back at a thing named before it ("why do we use it?", "how do I become one?")."""
    return bool(_POINTS_BACK.search(_POINTS_NOWHERE.sub(" ", clause)))


def split_sentences(text: str) -> list[str]:
    """Split a message into sentences (after ? ! ; a full stop and a space unless it ends an abbreviation, a full stop
    glued to the next sentence, line breaks, before a numbered item "2)"), without their list numbers."""
    parts = (_LIST_MARKER.sub("", part.strip()) for part in _SENTENCE_END.split(text) if part)
    return [part for part in parts if part]


@dataclass(frozen=True)
class Question:
    """One question of a message: its clause as written, with what it leaves unsaid from the clause before it."""

    text: str
    antecedent: str = ""
    """The words before it that it points back at: "what is Kubernetes and" for "why do we use it", "Lead
    Developer vs Tech Lead" for "what's the difference between both?". On its own, such a clause asks about nothing."""
    head: str = ""
    """The question words it shares with the clause before: "what are" for "the salaries" in "what are the top
    languages and the salaries?"."""

    @property
    def read(self) -> str:
        """The text to match: the clause with its antecedent and head."""
        return " ".join(part for part in (self.antecedent, self.head, self.text) if part)

    @property
    def asks(self) -> bool:
        """True when it asks something (see `is_question`), its head included."""
        return is_question(f"{self.head} {self.text}" if self.head else self.text)


def split_questions(text: str) -> list[Question]:
    """Split a message into the questions it asks: its sentences, and clauses joined by
    "and" + a question word ("what do they earn and which school is best"). A clause that points
    back at a thing ("it", "both") keeps the clause before it as its antecedent."""
    questions: list[Question] = []
    for sentence in split_sentences(text):
        for n, (clause, head) in enumerate(_noun_phrases(_clauses(sentence))):
            if not any(ch.isalnum() for ch in clause):
                continue
            if n and questions and _BARE_QUESTION_WORD.match(clause):
                # "which path would you recommend and why?" asks one question: the clause before, with its question mark.
                last = questions[-1]
                mark = "?" if clause.rstrip().endswith("?") and not last.text.endswith("?") else ""
                questions[-1] = replace(last, text=last.text + mark)
                continue
            before = questions[-1].text if questions and points_back(clause) else ""
            questions.append(Question(clause, f"{before} and" if before and n else before, head))
    if questions:
        return questions
    # Symbols only ("👋", "???"): keep the message whole, a symbol may still mean something.
    return [Question(text.strip())] if text.strip() else []


def _clauses(sentence: str) -> Iterator[str]:
    """The clauses of a sentence that each ask a question: split at "and" + a question word, and at a comma + a question
    word when the words before the comma open a question themselves ("what is backend, how much do they earn"; not
    "Apart from the technical knowledge, what kind of mindset helps?" nor "If I learn Python, which framework?")."""
    for piece in _AND_QUESTION.split(sentence):
        start = 0
        for comma in _COMMA_QUESTION.finditer(piece):
            before = piece[start : comma.start()]
            if _opens_question(before) and not _WHEN_CLAUSE.match(before):
                yield before.strip()
                start = comma.end()
        yield piece[start:].strip()


_WHAT_ARE = re.compile(r"^\W*(?:what|which)\s+(?:are|is)\b", re.IGNORECASE)
_COMPARES = re.compile(r"\b(?:between|both|differences?|compared?|vs|versus)\b", re.IGNORECASE)
"""In "the difference between the front end and the back end developer", "and" joins the two things compared."""
_AND_THE = re.compile(r",?\s+and\s+(?=(?:the|their|its)\s+\w+\s+\w+)", re.IGNORECASE)


def _noun_phrases(clauses: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(clause, head): "what are the top languages and the salaries?" asks two things, each with "what are"."""
    for clause in clauses:
        head = _WHAT_ARE.match(clause)
        if head is None or _COMPARES.search(clause):
            yield clause, ""
            continue
        first, *rest = _AND_THE.split(clause)
        yield first, ""
        for phrase in rest:
            yield phrase, head.group(0).strip()


_GREETINGS = r"hi|hey|hello"
_LEAD_INS = (
    rf"and|so|but|also|plus|btw|then|ok|okay|oh|well|(?:{_GREETINGS})\s+there|{_GREETINGS}|bot|guys|folks|everyone|sorry"
    r"|(?:(?:a|one|quick|small|simple|random|dumb|stupid|silly|noob)\s+)+(?:question|q)"
)
"""Words a chat message puts before its question ("also do I need a degree", "hey, how much do they earn", "hey bot,
how much...", "hello there, which...", "hi guys, quick question - what...")."""
_QUESTION_START = re.compile(rf"^\W*(?:(?:{_LEAD_INS})\W+)*(?:{_QUESTION_WORDS}|any|tell|explain|list)\b", re.IGNORECASE)


_AUXILIARY_THEN_VERB = re.compile(
    r"^\W*(?:do|does|did|is|are|am|can|could|should|will|would)\s+"
    r"(?:do|try|be|have|check|look|give|keep|love|like|need|definitely|surely|probably|certainly|also|not)\b",
    re.IGNORECASE,
)
"""An auxiliary followed by a verb, not by a subject: a statement with its subject left out ("Will do that.", "Would love
to hear more.", "Will definitely try it."), not a question, unless it ends with "?"."""


def is_question(sentence: str) -> bool:
    """True when `sentence` asks something (ends with ? or opens with a question word, but not "Will do that.")."""
    if sentence.rstrip().endswith("?"):
        return True
    # After a label ("quick q: whats the pay", "Question: which language first"), the question starts at the colon.
    starts = (sentence, sentence.rsplit(":", 1)[-1]) if ":" in sentence else (sentence,)
    return any(_opens_question(start) for start in starts)


def _opens_question(text: str) -> bool:
    """True when `text` opens like a question (a question word, after chat lead-ins), not like "Will do that."."""
    return bool(_QUESTION_START.match(text)) and not _AUXILIARY_THEN_VERB.match(text)


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """The message `template` with its `{name}` placeholders replaced by `values`; any other brace is kept as written
    (never an error while answering: `faqbot validate` names a placeholder the bot does not fill)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean(text: str | None) -> str | None:
    """`text` with every lone surrogate (which cannot be written as UTF-8: to a pipe, SQLite, Telegram) made U+FFFD."""
    return text if text is None or text.isascii() else _SURROGATES.sub("\ufffd", text)


_HANDLE = re.compile(r"(?<![\w.@])@\w{2,32}\b[,:]?")


def without_handles(text: str) -> str:
    """`text` without the @handles it addresses people by ("Thanks @alice, and the pay?"): a handle names who is
    spoken to, never what is asked, and would count as a word the bot does not know. E-mail addresses stay."""
    return _HANDLE.sub(" ", text) if "@" in text else text


_VOCATIVE = re.compile(
    rf"\b(?P<keep>(?i:{_GREETINGS}|dear|thanks|thank you|thx|cheers|congrats|congratulations))(,?[ \t]+)"
    r"(?P<name>[A-Z][a-z'’]+(?:[ \t][A-Z][a-z'’]+)?)(?=[ \t]*(?:[,!.:;?\n]|$))"
)
_LAST_VOCATIVE = re.compile(r"(?P<keep>),[ \t]+(?P<name>[A-Z][a-z'’]+(?:[ \t][A-Z][a-z'’]+)?)(?=[ \t]*(?:[!.?]|\n|$))")
"""A name after the comma that ends a sentence ("how's it going, Sarah?")."""


def without_vocatives(text: str, known: Container[str] = frozenset()) -> str:
    """`text` without the names it greets, thanks or asks people by ("Thanks Roeland!", "Hey, Kent!", "how are you,
    Dinda?" -> "Thanks!", "Hey!", "how are you?"): like a handle, a name says who is spoken to, never what is asked,
    and would count as a word the bot does not know. Only capitalised words right after a greeting or thanks, ending
    there, or after the comma that ends a sentence, are taken for a name, and not when one of them is a word in
    `known` (lower case): "Hey Python devs, ..." addresses people by a topic, "which one, Django?" names one."""

    def unless_known(found: re.Match[str]) -> str:
        return found.group(0) if any(word.lower() in known for word in found["name"].split()) else found["keep"]

    return _LAST_VOCATIVE.sub(unless_known, _VOCATIVE.sub(unless_known, text))


def readable(text: str, known: Container[str] = frozenset()) -> str:
    """A message as the engine reads it: styled letters made plain (`compatible_letters`), @handles dropped
    (`without_handles`), and names greeted or thanked (`without_vocatives`; `known`: the words the bot knows)."""
    return without_vocatives(without_handles(compatible_letters(text)), known)


def compatible_letters(text: str) -> str:
    """`text` with full-width and styled letters and digits ("ｓａｌａｒｙ", "𝐬𝐚𝐥𝐚𝐫𝐲") made plain, as NFKC does, and the
    Cyrillic or Greek look-alikes inside a Latin word made Latin ("Backеnd" with a Cyrillic "е", typed on a switched
    keyboard or pasted from a page that hides its words); other characters ("…", quotes) and words wholly in another
    script are kept, so that sentences split where they did and another language is still told."""
    if text.isascii():
        return text
    plain = "".join(unicodedata.normalize("NFKC", c) if c.isalnum() and not c.isascii() else c for c in text)
    return _WORD.sub(_latin_word, plain)


_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁһӏАВЕКМНОРСТХУІЈЅοαεικνρτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlABEKMHOPCTXYIJSoaeikvptuxABEZHIKMNOPTYX",
)
_WORD = re.compile(r"\w+")
"""A word, matched whole in one pass (a pattern asking for two kinds of letter in one word backtracks: seconds on a
4,000-letter word)."""
_ASCII_LETTER = re.compile(r"[A-Za-z]")


def _latin_word(found: re.Match[str]) -> str:
    """The word with its look-alikes made Latin when it mixes ASCII letters with others; otherwise as it was."""
    word = found.group(0)
    return word.translate(_LOOKALIKES) if not word.isascii() and _ASCII_LETTER.search(word) else word
