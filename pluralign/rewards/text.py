"""Text units the scorers share: sentences, words, function words, n-grams (en, fr, de, zh, ...).

Nothing here is language-specific beyond small lists of function words, and nothing stems: words
are case-folded, Unicode-normalised and stripped of accents, so that the same normalisation works
for every Latin-script language and for Chinese (one token per Han character).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Candidate sentence ends: . ! ? … (and closing quotes) followed by space, or the CJK full stops,
# which need no space. A candidate followed by a lowercase letter continues the sentence ("e.g. the").
_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”)\]]*(?=\s)|[。！？；]")
_BULLET = re.compile(r"^\s*(?:[-*•·–—]|\d{1,2}[.)])\s+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+(?:['’][^\W_]+)*")

# Function words (articles, pronouns, auxiliaries, prepositions, conjunctions, quantifiers) of
# the languages the project ships. A well-formed statement has a good share of them; a keyword
# list has almost none.
FUNCTION_WORDS = {
    "en": """a an the this that these those it its they them their there he she his her we our us you
        your i me my is are was were be been being am do does did done have has had having will would
        shall should can could may might must not no nor never of in on at to for from by with without
        about against between into through during before after above below over under again further
        then once here when where why how all any both each few more most other some such only own
        same so than too very just and but or if because as until while also although though since
        whether which who whom whose what many much one ones those s t don isn aren wasn weren won
        argue argues say says think thinks believe believe feel feels""",
    "fr": """le la les l un une des du de d au aux ce cet cette ces il elle ils elles on nous vous je j
        me m te t se s lui leur leurs eux son sa ses mon ma mes ton ta tes notre nos votre vos est
        sont était étaient être été sera seraient serait ont a avait avaient avoir eu fait faire
        faut doit doivent peut peuvent pourrait ne n pas plus moins très trop aussi et ou mais donc
        car or ni que qu qui quoi dont où quand comme si dans en sur sous par pour avec sans entre
        vers chez contre depuis pendant avant après tout tous toute toutes autre autres même
        certains certaines plusieurs beaucoup peu y c ça cela ceci selon pensent estiment disent""",
    "de": """der die das den dem des ein eine einer einen einem eines er sie es wir ihr ich du man
        sein seine ihre ihren unser unsere mein meine dies diese dieser dieses jene ist sind war
        waren sein gewesen wird werden wurde wurden würde würden hat haben hatte hatten kann können
        könnte könnten muss müssen soll sollen sollte sollten darf dürfen will wollen nicht kein
        keine keinen nie und oder aber denn sondern doch dass daß ob wenn weil als wie wo was wer
        zu zum zur von vom mit ohne für gegen über unter auf aus bei nach vor in im an am bis durch
        um auch noch schon sehr mehr weniger nur alle allen alles andere anderen einige viele
        manche jeder jede jedes sich so da dann hier dort meinen sagen finden""",
    "es": """el la los las un una unos unas de del al a en y o pero que qué es son ser está están fue
        no sí se su sus lo le les por para con sin como más muy también este esta estos estas ese""",
    "it": """il lo la i gli le un una uno di del della dei delle a al alla da in con su per tra fra e o
        ma che è sono essere non si suo sua loro come più molto anche questo questa quello""",
    "nl": """de het een en of maar dat die dit deze is zijn was waren niet geen van in op aan met voor
        door naar bij om te ook als dan wel er zij wij ik je hij ze we""",
}
ALL_FUNCTION_WORDS = frozenset(w for words in FUNCTION_WORDS.values() for w in words.split())


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def _words(text: str) -> tuple[str, ...]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return tuple(strip_accents(w).replace("’", "'") for w in _WORD.findall(folded))


def words(text: str) -> list[str]:
    """Normalised word tokens: case-folded, NFKC, accents stripped; one token per Han character."""
    return list(_words(text))


_FUNCTION_FOLDED = frozenset(strip_accents(w) for w in ALL_FUNCTION_WORDS)


def is_function_word(word: str) -> bool:
    return word in _FUNCTION_FOLDED or word.split("'")[0] in _FUNCTION_FOLDED


def content_words(text: str) -> list[str]:
    """Words that carry content: not function words, not single Latin letters or bare numbers."""
    return [w for w in _words(text) if not is_function_word(w) and (len(w) > 1 or _HAN.match(w))]


def split_sentences(text: str) -> list[str]:
    """Sentences of a text: each line (bullets removed), split at sentence-final punctuation."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        parts: list[str] = []
        cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(line)] + [len(line)]
        for start, end in zip(cuts, cuts[1:], strict=False):
            part = line[start:end].strip()
            first = next((ch for ch in part if ch.isalnum()), "")
            if parts and first.islower():
                parts[-1] = f"{parts[-1]} {part}"
            elif part.strip():
                parts.append(part)
        sentences.extend(part.strip() for part in parts)
    return [s for s in sentences if _WORD.search(s)]


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def han_share(text: str) -> float:
    """Share of the text's letters that are Han characters (Chinese script)."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum(bool(_HAN.match(ch)) for ch in letters) / len(letters) if letters else 0.0
