"""Turn evaluation case files into `faqbot ask --jsonl` input, to replay them through the bot into a log.

    python benchmarks/replay_log.py tests/eval/real-tune.jsonl tests/eval/cases.jsonl \
        | FAQBOT_DATA_DIR=/tmp/replay .venv/bin/faqbot ask --jsonl --log > /dev/null
    FAQBOT_DATA_DIR=/tmp/replay .venv/bin/faqbot report

Each case is its own conversation unless it names one (then its turns share context, in
file order). `--noise` adds the messages a live bot also gets (empty, emoji-only, a pasted
5,000-character line, a long story, greetings in French), to show the report leaves them out.
Never replay the held-out set (tests/eval/real-holdout.jsonl): it measures the bot, it must
not shape the knowledge base.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NOISE = (
    "   ",
    "👍👍",
    "🙂",
    "x" * 5000,
    "So let me tell you about my week. " * 20 + "Anyway, what do you think?",
    "bonjour",
    "merci",
    "and for seniors?",
    "tell me a joke",
    "what's the weather in Paris?",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, help="case files (JSON lines with at least `text`)")
    parser.add_argument("--noise", action="store_true", help="add the messages a live bot also receives")
    args = parser.parse_args()
    for path in args.files:
        if "holdout" in path.name:
            parser.error(f"{path}: the held-out set is never replayed")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                case = json.loads(line)
                conversation = case.get("conversation") or f"{path.stem}:{case.get('id', number)}"
                print(json.dumps({"conversation": conversation, "text": case["text"]}, ensure_ascii=False))
    if args.noise:
        for number, text in enumerate(NOISE):
            print(json.dumps({"conversation": f"noise:{number}", "text": text}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
