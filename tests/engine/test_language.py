"""Language: messages in another language are recognised, English ones never."""

from dataclasses import replace

import pytest

from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue
from bot.engine.language import other_language
from bot.engine.models import Reason


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("combien gagne un développeur backend ?", "fr"),
        ("¿cuánto gana un desarrollador backend?", "es"),
        ("Wie viel verdient ein Backend-Entwickler?", "de"),
        ("Was macht ein Backend-Entwickler?", "de"),
        ("Quanto ganha um desenvolvedor backend?", "pt"),
        ("O que faz um desenvolvedor back-end?", "pt"),
        ("Quanto guadagna uno sviluppatore backend?", "it"),
        ("che linguaggio devo imparare per il backend?", "it"),
        ("apakah gaji backend developer lebih besar?", "id"),
        ("saya mau belajar bahasa pemrograman apa untuk backend?", "id"),
        ("merci", "fr"),
        ("danke", "de"),
        ("obrigado", "pt"),
        ("grazie", "it"),
    ],
)
def test_a_message_in_another_language_is_recognised(text: str, language: str) -> None:
    assert other_language(text) == language


@pytest.mark.parametrize(
    "text",
    [
        "raison d'etre of backend dev",
        "is php dead",
        "how much do devs make in Paris",
        "la vie en rose",
        "Can I work in Germany as a backend developer? I was told die-hard Java is all they use",
        "what is the per hour rate for a backend dev, come on",
        "um, is a degree needed? ciao",
        "Is Django a good choice, or should I use Laravel for my website.com project?",
        "hallo",
        "is Ada a backend language, or is it only used in planes and trains?",
        "I know Ada and some Python, can I become a backend dev? mana points aside, it's my dream",
        "do backend devs set up the CI and use DI containers, or is it the devops team?",
    ],
)
def test_english_is_not_taken_for_another_language(text: str) -> None:
    assert other_language(text) is None


def test_a_language_without_its_own_text_gets_the_english_one(engine: Engine) -> None:
    messages = {key: text for key, text in engine.kb.messages.items() if key != "other_language_de"}
    without = Engine(replace(engine.kb, messages=messages), engine.matcher)
    reply = Dialogue(lambda: without).respond("Wie viel verdient ein Backend-Entwickler?")
    assert reply.reason is Reason.OTHER_LANGUAGE
    assert reply.text == engine.kb.messages["other_language_other"]
    own = Dialogue(lambda: engine).respond("Wie viel verdient ein Backend-Entwickler?")
    assert own.text == engine.kb.messages["other_language_de"]
