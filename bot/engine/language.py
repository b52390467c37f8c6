"""Is a message in French, Spanish, German, Portuguese, Italian or Indonesian, or in a script the bot cannot read? For replying
"I only speak English".

The bot answers in English only. A question in another language ("combien gagne un
développeur backend ?") shares a few words with the knowledge base ("backend") and would
get a confident wrong answer, or "sorry, I only know about the backend job"; `other_language`
spots it so the bot can say, in that language, that it answers in English (texts
`other_language_fr`, `other_language_es`... in content/_messages.yaml; a language without its
own text gets `other_language_other`, in English).

How: the message's words are looked up in small lists of function words (articles,
pronouns, prepositions, question words), a few words of the trade ("salaire", "gehalt") and
a few very common greetings. A message is in one of these languages when it has at least two
of its words, more of them than English ones and than of any other list, or when it is only a
greeting or a thanks in that language ("bonjour", "merci", "hola", "danke"). Words that several
of the languages share ("a", "de", "la", "en", "que"...) count for none. A small library
(py3langid) was measured first: it takes 1.2 s to load its model, more than the bot's whole
start-up, and calls "raison d'etre of backend dev" French; these lists decide in microseconds
and only on unambiguous words.

A message written mostly in letters of another script (Cyrillic, Greek, Arabic, Hebrew, Chinese...)
is "other": the bot reads none of its words, and without this it would take it for an empty
message (text `other_language_other`, in English).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["fr", "es", "de", "pt", "it", "id", "other"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[a-zà-öø-ÿœ']+")
_SHARED = frozenset({"a", "de", "la", "en", "que", "me", "se", "te", "no", "son", "as", "on", "y"})
_ENGLISH = _words(
    "the a an is are was be do does did what which who how why when where i you we they he she it my your of for "
    "to in on with and or can should could would will about from at this that there any some much many me job get "
    "learn need want know backend developer"
)
_FRENCH = _words(
    "le les un une des du est et ou pour qui quel quelle quels quelles quoi combien comment pourquoi quand je tu "
    "il elle nous vous ils elles mon ma mes ton ta tes son sa ses notre votre leur dans avec sur sans pas ne plus "
    "moins très faut peut être avoir fait suis sont c'est qu'est-ce j'ai d'un d'une l' au aux ce cette ces "
    "développeur développeurs développeuse gagne gagner salaire apprendre devenir métier travail langage études "
    "bonjour merci salut bonsoir svp"
)
_SPANISH = _words(
    "el los las un una unos unas del es y o para por porque qué cuál cuáles quién cómo cuánto cuánta cuántos "
    "cuanto como donde dónde cuando cuándo yo tú usted nosotros ellos ellas mi mis tu tus su sus nuestro con sin "
    "muy más menos hay puedo puede ser estar soy está están tengo hola gracias buenos buenas días tardes noches "
    "desarrollador desarrolladores gana ganar salario sueldo aprender trabajo lenguaje estudiar"
)
_GERMAN = _words(
    "wie viel wieviel verdient verdienen ein eine einen einem der dem und ist ich wir ihr sie welche welcher welches "
    "soll sollte sollen macht machen kann können lernen brauche muss mein meine sind wird werden warum wo wer gibt zu "
    "bei oder nicht auch für bitte danke entwickler entwicklerin programmiersprache programmieren gehalt beruf studium"
)
_PORTUGUESE = _words(
    "uma umas você vocês não é são estão ele ela eles elas muito qual quais ganha ganhar ganham desenvolvedor "
    "desenvolvedores desenvolvedora fazer faz salário trabalho trabalhar linguagem programação onde isso isto também "
    "obrigado obrigada olá noite faculdade carreira meu minha sua ao aos pela"
)
_ITALIAN = _words(
    "il gli della dello delle degli nella che sono è perché quale quali quanti guadagna guadagnare sviluppatore "
    "sviluppatori sviluppatrice imparare lavoro linguaggio grazie buongiorno buonasera anche molto più dovrei posso "
    "voglio"
)
_INDONESIAN = _words(
    "apa apakah bagaimana berapa kenapa mengapa siapa kapan mana yang dan atau untuk dengan dari pada saya aku kamu "
    "anda kita kami mereka ini itu ada tidak bukan belum sudah masih bisa harus mau ingin perlu lebih sangat juga "
    "gaji kerja pekerjaan bekerja belajar mempelajari menjadi jadi bahasa pemrograman kuliah lulusan jurusan "
    "terima kasih halo selamat pagi tolong mohon"
)
"""Indonesian: many of the real askers found on Indonesian Q&A boards write in it ("apakah gaji backend lebih
besar?"); "di", "ke" and "per" read as developers' shorthand or English and are left out."""
_LISTS: tuple[tuple[Language, frozenset[str]], ...] = (
    ("fr", _FRENCH), ("es", _SPANISH), ("de", _GERMAN), ("pt", _PORTUGUESE), ("it", _ITALIAN), ("id", _INDONESIAN),
)  # fmt: skip
"""Words that also read as English ("was", "die", "per", "come", "um") or as developers' shorthand ("ci", "di"), and
most that read as another of these languages ("des", "das", "quanto", "porque"), are in none of them; the few left
in two ("il", "un", "tu") count for both, so they never decide between those two."""
_GREETINGS: dict[str, Language] = {
    "bonjour": "fr", "salut": "fr", "bonsoir": "fr", "merci": "fr", "merci beaucoup": "fr",
    "hola": "es", "gracias": "es", "muchas gracias": "es", "buenos días": "es", "buenas tardes": "es", "buenas noches": "es",
    "danke": "de", "danke schön": "de", "guten tag": "de", "olá": "pt", "obrigado": "pt", "obrigada": "pt",
    "grazie": "it", "grazie mille": "it", "buongiorno": "it",
}  # fmt: skip


def other_language(text: str) -> Language | None:
    """ "fr", "es", "de", "pt", "it" or "id" when `text` is clearly French, Spanish, German, Portuguese, Italian or
    Indonesian, "other" when most of its letters are not Latin ones, else None (English, or too little to tell).
    `text` has its full-width letters made plain (`compatible_letters`), as the dialogue does on entry."""
    if _mostly_other_script(text):
        return "other"
    words = [w.strip("'") for w in _WORD.findall(text.casefold())]
    words = [w for w in words if w]
    if not words:
        return None
    whole = " ".join(words)
    if whole in _GREETINGS:
        return _GREETINGS[whole]
    counted = [w for w in words if w not in _SHARED]
    english = sum(w in _ENGLISH for w in counted)
    counts = {language: sum(w in listed for w in counted) for language, listed in _LISTS}
    if "¿" in text or "¡" in text:
        counts["es"] += 1
    (best, count), (_, second) = sorted(counts.items(), key=lambda item: -item[1])[:2]
    if count >= 2 and count > english and count > second:
        return best
    return None


def _mostly_other_script(text: str) -> bool:
    """True when at least two letters, and most of them, are not Latin ("Сколько зарабатывает бэкенд-разработчик?")."""
    letters = [c for c in text if c.isalpha()]  # (full-width and styled Latin letters were made plain: `text.compatible_letters`)
    if len(letters) < 2 or all(c.isascii() for c in letters):
        return False
    other = sum(not c.isascii() and not unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return other * 2 > len(letters)
