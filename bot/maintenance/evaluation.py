"""`faqbot eval`: grade the bot on a case file and summarise where it goes wrong.

Case lines use the format of `../shared/eval/score.py` plus an optional expected
`intent`: {"id", "category", "text", "conversation"?, "want", "intent"?, "expect"?, "forbid"?}.
A case passes under the same rules as that script.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from bot.engine.dialogue import Dialogue
from bot.engine.models import Reply
from bot.engine.render import plain
from bot.engine.text import clean

MAX_ANSWER = 1500


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    text: str
    want: str
    conversation: str | None = None
    intent: str | None = None
    expect: tuple[tuple[str, ...], ...] = ()
    forbid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    case: Case
    reply: Reply
    answer: str
    failure: str | None


@dataclass
class Evaluation:
    """The outcome of every case of one `faqbot eval` run, and the summaries drawn from them."""

    outcomes: list[Outcome] = field(default_factory=list)

    def rate(self, predicate: Callable[[Outcome], bool]) -> tuple[int, int]:
        chosen = [o for o in self.outcomes if predicate(o)]
        return sum(o.failure is None for o in chosen), len(chosen)

    @property
    def answered(self) -> tuple[int, int]:
        return self.rate(lambda o: o.case.want != "decline")

    @property
    def declined(self) -> tuple[int, int]:
        return self.rate(lambda o: o.case.want == "decline")

    @property
    def overall(self) -> tuple[int, int]:
        return self.rate(lambda o: True)

    def by(self, key: Callable[[Outcome], str | None]) -> dict[str, tuple[int, int]]:
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in self.outcomes:
            name = key(outcome)
            if name is not None:
                groups[name].append(outcome)
        return {name: (sum(o.failure is None for o in group), len(group)) for name, group in sorted(groups.items())}

    def confusions(self) -> Counter[tuple[str, str]]:
        """(expected intent, what the bot did) for every case whose intent was wrong."""
        pairs: Counter[tuple[str, str]] = Counter()
        for o in self.outcomes:
            expected = o.case.intent or "(decline)"
            got = o.reply.intent if o.reply.kind != "fallback" else "(fallback)"
            if o.case.want == "decline":
                if o.reply.kind == "answer":
                    pairs[(expected, got or "?")] += 1
            elif got != o.case.intent and o.case.intent is not None:
                pairs[(expected, got or "?")] += 1
        return pairs

    def out_of_scope(self) -> tuple[float, float]:
        """Precision and recall of declining, where declining is the positive class."""
        declined = [o for o in self.outcomes if o.reply.kind != "answer" and o.case.want != "smalltalk"]
        should = [o for o in self.outcomes if o.case.want == "decline"]
        true_positive = sum(1 for o in declined if o.case.want == "decline")
        precision = true_positive / len(declined) if declined else 1.0
        recall = true_positive / len(should) if should else 1.0
        return precision, recall

    def reliability(self, edges: Iterable[float] = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)) -> list[tuple[str, int, float]]:
        """For in-scope cases: share with the right intent per band of top score (is the score calibrated?)."""
        bounds = list(edges)
        rows = []
        scored = [o for o in self.outcomes if o.case.intent is not None]
        for low, high in pairwise(bounds):
            band = [o for o in scored if low <= o.reply.score < high]
            if band:
                right = sum(o.reply.intent == o.case.intent for o in band)
                rows.append((f"{low:.1f}-{min(high, 1.0):.1f}", len(band), right / len(band)))
        return rows


WANTS = ("answer", "decline", "smalltalk")


def load_cases(path: Path) -> list[Case]:
    """Read a JSONL case file; raise ValueError naming the file, and the line of a malformed case."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"{path}: cannot read the case file ({exc})") from exc
    cases = []
    # Lines end at "\n" only: a JSON string may hold U+2028 and the like, which str.splitlines() also splits at.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            cases.append(_case(line, number))
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{path}:{number}: not a valid case: {str(exc).split(';')[0]}") from exc
    if not cases:
        raise ValueError(f"{path}: no cases (one JSON object a line)")
    return cases


def _case(line: str, number: int) -> Case:
    """One case from its JSON line; raises ValueError saying which key is wrong."""
    raw = json.loads(line)
    if not isinstance(raw, dict):
        raise ValueError(f'{json_type(raw)}, expected an object with at least "text"')
    if not isinstance(raw.get("text"), str):
        raise ValueError('"text" must be a string')
    want = raw.get("want", "answer")
    if want not in WANTS:
        raise ValueError(f'"want" must be one of {", ".join(WANTS)}, found {want!r}')
    for key in ("id", "category", "conversation", "intent"):
        if not isinstance(raw.get(key), str | int | None) or isinstance(raw.get(key), bool):
            raise ValueError(f'"{key}" must be a string')
    expect, forbid = raw.get("expect", []), raw.get("forbid", [])
    if not isinstance(expect, list) or not all(isinstance(group, list) and all(_word(a) for a in group) for group in expect):
        raise ValueError('"expect" must be a list of groups, each a list of words, e.g. [["junior", "entry"], ["$"]]')
    if not isinstance(forbid, list) or not all(_word(f) for f in forbid):
        raise ValueError('"forbid" must be a list of words')
    conversation, intent = raw.get("conversation"), raw.get("intent")
    return Case(
        id=clean(str(raw.get("id", number))) or str(number),
        category=clean(str(raw.get("category", "other"))) or "other",
        text=clean(raw["text"]) or "",
        want=want,
        conversation=None if conversation is None else str(conversation),
        intent=None if intent is None else str(intent),
        expect=tuple(tuple(str(a) for a in group) for group in expect),
        forbid=tuple(str(f) for f in forbid),
    )


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type ("an array", "null"), for error messages."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _word(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def grade(case: Case, reply: Reply, answer: str) -> str | None:
    """None when the reply passes `case`, else a short reason (same rules as shared/eval/score.py)."""
    if case.want == "decline":
        return None if reply.kind != "answer" else f"answered ({reply.intent}) instead of declining"
    if reply.kind != case.want:
        return f"wanted {case.want}, got {reply.kind} ({reply.intent})"
    if case.intent is not None and reply.intent != case.intent:
        return f"wanted intent {case.intent}, got {reply.intent}"
    folded = answer.casefold().replace("\u2013", "-").replace("\u2014", "-").replace("\u00a0", " ")
    if len(folded) > MAX_ANSWER:
        return f"answer is {len(folded)} chars (max {MAX_ANSWER})"
    for group in case.expect:
        if not any(alt.casefold() in folded for alt in group):
            return f"missing one of {list(group)} (intent {reply.intent})"
    for bad in case.forbid:
        if bad.casefold() in folded:
            return f"contains forbidden {bad!r} (intent {reply.intent})"
    return None


def run(cases: Iterable[Case], dialogue: Dialogue) -> Evaluation:
    """Answer every case with `dialogue` and grade the replies."""
    evaluation = Evaluation()
    for case in cases:
        reply = dialogue.respond(case.text, case.conversation)
        answer = plain(reply.text)
        evaluation.outcomes.append(Outcome(case, reply, answer, grade(case, reply, answer)))
    return evaluation
