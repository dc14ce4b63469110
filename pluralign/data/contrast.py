"""Stance-contrast pairs made by rule-based edits of real contributions (docs/design.md §5).

From one contribution (a Polis comment, a DeliberationBank opinion, a French seed) `contrast_pairs`
makes one (source, output, label) pair per class; the pairs train the stance-preservation model
(`pluralign.rewards.fidelity_fit`):

- **same**: the untouched text (15%), or one to three stacked paraphrase edits: the final full stop
  added or removed, a neutral frame ("My proposal:", "Kurz gesagt:", "En résumé :"), synonym swaps
  (people -> residents, Menschen -> Leute, les gens -> les habitants, contractions), a clause
  reorder ("A because B" -> "Because B, a"; en and fr only: German would need verb inversion),
  and, for two-sentence texts, the sentences swapped half the time;
- **flipped**: the stance reversed: a negation inserted (en: after the first modal or copula,
  "do not" before an imperative or "we need", "No need for"; de: `nicht` after the V2 modal or
  copula, or before a final infinitive; fr: ne...pas around the first finite verb, "il n'y a pas",
  "Ne pas" + infinitive) or removed (never -> always, kein -> ein, ne...plus -> encore), an antonym
  swapped (support/oppose, more/less, dafür/dagegen, interdire/autoriser...), a rejecting frame
  ("I reject the idea that", "Das lehne ich ab:", "Je suis contre :"), or an opening answer word
  turned round (Yes/No, Ja/Nein, Oui/Non). A flip reaches every sentence a flip rule applies to
  (at least half of them, the first included), so a multi-sentence contribution flips as a whole;
- **softened**: a hedge frame or tail ("I'm not completely sure, but", ", zumindest in manchen
  Fällen", "Dans certains cas,"), a modal or quantifier weakened (must -> should, muss -> sollte,
  doit -> devrait, all -> some), a booster removed, exclamations and capitals calmed;
- **amplified**: a booster frame or tail ("Without any doubt,", ", da gibt es nichts zu
  diskutieren", ". Ça ne peut plus attendre"), a modal or quantifier strengthened (should -> must,
  some -> all), a hedge removed, an exclamation added.
Other classes than `flipped` edit one sentence: the first of three words or more.

Against shortcuts a classifier could take:
- each class has several rule families, drawn at random (weighted by FAMILY_WEIGHT) among those
  that apply, so no single inserted word identifies a class; frames exist for every class;
- several softening and amplifying phrases hold a negation that flips nothing ("I'm not
  completely sure, but", "ça ne peut plus attendre"), so "a negation appeared" is not "flipped";
- the phrase lists overlap the scorer's cue lexicons (`pluralign.rewards.stance`, `intensity`)
  only in part, so lexicon counts help as features but cannot decide alone;
- with probability 1/2 a class edit is also paraphrased, so how much the wording moved says
  nothing about the class;
- with probability 1/2 a pair is reversed (output -> source): removing a hedge is then an
  `amplified` pair, removing a booster a `softened` one, and the natural text is the output as
  often as the source.
German and French grammar is approximate in places ("il ne faudrait pas des places"). A rule that
does not apply returns None; a class with no applicable rule gives no pair for that contribution.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from pluralign.rewards.text import FUNCTION_WORDS, split_sentences

LABELS = ("same", "flipped", "softened", "amplified")
REVERSE = {"same": "same", "flipped": "flipped", "softened": "amplified", "amplified": "softened"}

Rule = Callable[[str, random.Random], "str | None"]


# --- helpers -----------------------------------------------------------------------------------

def _cap_like(word: str, model: str) -> str:
    """`word` capitalised the way `model` is (first letter only)."""
    if model[:1].isupper() and word:
        return word[0].upper() + word[1:]
    return word


def sub_first(text: str, table: list[tuple[str, str]], rng: random.Random, flags=re.I) -> str | None:
    """Apply one (pattern, replacement) pair of `table`, chosen at random among those that match,
    to its first match (whole words). Replacement may use \\1 etc.; case of the first letter kept."""
    hits = [(p, r) for p, r in table if re.search(r"(?<![\w'’-])" + p + r"(?![\w'’-])", text, flags)]
    if not hits:
        return None
    pattern, repl = rng.choice(hits)
    regex = re.compile(r"(?<![\w'’-])" + pattern + r"(?![\w'’-])", flags)
    match = regex.search(text)
    new = match.expand(repl)
    new = _cap_like(new, match.group(0)) if match.start() == 0 else new
    out = text[:match.start()] + new + text[match.end():]
    return _tidy(out)


def _tidy(text: str) -> str:
    text = re.sub(r"\s{2,}", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text) if not re.search(r"\s[:;!?»]", text) else text
    text = re.sub(r"([.!?]\s+)([a-zäöüéèàç])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text[0].upper() + text[1:] if text and text[0].islower() and text[0].isalpha() else text


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper() and not text.startswith("I "):
        return text[0].lower() + text[1:]
    return text


def _strip_end(text: str) -> tuple[str, str]:
    match = re.search(r"[.!?…]+$", text)
    return (text[:match.start()], match.group(0)) if match else (text, "")


DE_FUNCTION = set(FUNCTION_WORDS["de"].split())


def prefix(frames: list[str], lang: str) -> Rule:
    """A frame before the sentence; the sentence's first word is lowercased where the language
    allows it (German nouns keep their capital: only a function word is lowercased)."""
    def rule(sentence: str, rng: random.Random) -> str | None:
        frame = rng.choice(frames)
        first = sentence.split(" ", 1)[0]
        if lang == "de" and first.lower() not in DE_FUNCTION:
            body = sentence
        else:
            body = _lower_first(sentence)
        text = frame + body
        if lang == "fr":  # que + vowel -> qu'
            text = re.sub(r"\bque ([aeiouéèêhAEIOUÉ])", r"qu'\1", text)
        return _tidy(text)
    return rule


def suffix(tails: list[str]) -> Rule:
    def rule(sentence: str, rng: random.Random) -> str | None:
        body, end = _strip_end(sentence)
        tail = rng.choice(tails)
        return _tidy(body + tail + ("" if tail.rstrip()[-1:] in ".!?" else (end if end and end != "?" else ".")))
    return rule


def swap(table: list[tuple[str, str]], both_ways: bool = True) -> Rule:
    """Swap one word/phrase for its counterpart (both directions when `both_ways`)."""
    pairs = list(table) + ([(b, a) for a, b in table] if both_ways else [])
    compiled = [(re.escape(a) if not a.startswith("re:") else a[3:], b) for a, b in pairs]

    def rule(sentence: str, rng: random.Random) -> str | None:
        return sub_first(sentence, compiled, rng)
    return rule


def delete(words: list[str]) -> Rule:
    """Remove one of `words` (a booster, a hedge) where it occurs."""
    table = [(w if w.startswith("(") else re.escape(w), "") for w in words]

    def rule(sentence: str, rng: random.Random) -> str | None:
        out = sub_first(sentence, [(p + r",?", r) for p, r in table], rng)
        return None if out is None or len(out.split()) < 3 else out
    return rule


def calm(sentence: str, rng: random.Random) -> str | None:
    """Exclamation marks to a full stop, shouted words to normal case."""
    out = re.sub(r"!+", ".", sentence)
    out = re.sub(r"\b([A-ZÄÖÜÉÈÀ]{3,})\b", lambda m: m.group(1).capitalize(), out)
    return out if out != sentence else None


def shout(sentence: str, rng: random.Random) -> str | None:
    body, end = _strip_end(sentence)
    return body + rng.choice(["!", "!!", "!!!"]) if "!" not in sentence else None


ANSWER_FLIP = {"yes": "No", "no": "Yes", "ja": "Nein", "nein": "Ja", "oui": "Non", "non": "Oui"}
_ANSWER_RE = re.compile(r"^(yes|no|ja|nein|oui|non)(?=\s*(?:[,.!;:—–-]|$))", re.I)


def answer_flip(sentence: str, rng: random.Random) -> str | None:
    """An opening answer word turned round ("Yes, ..." -> "No, ...")."""
    m = _ANSWER_RE.match(sentence)
    return ANSWER_FLIP[m.group(1).lower()] + sentence[m.end():] if m else None


# --- English -----------------------------------------------------------------------------------

EN_AUX = ["should", "must", "would", "will", "can", "could", "is", "are", "was", "were", "does", "do", "has", "have"]

def en_negate(sentence: str, rng: random.Random) -> str | None:
    """Insert 'not' after the first auxiliary/modal, or 'do not' before a leading imperative."""
    m = re.search(r"\b(should|must|would|will|could|is|are|was|were|has been|have been)\b(?! not\b| n't)", sentence, re.I)
    if m and not re.search(r"\b(not|n't|never|no)\b", sentence[m.end():m.end() + 12], re.I):
        return _tidy(sentence[:m.end()] + " not" + sentence[m.end():])
    m = re.search(r"\b(can)\b(?!not)", sentence, re.I)
    if m:
        return sentence[:m.start()] + _cap_like("cannot", m.group(0)) + sentence[m.end():]
    m = re.match(r"^(we|they|i|you|people)\s+(need|want|support|like|agree|believe|think|have)\b", sentence, re.I)
    if m:
        aux = "do not" if m.group(1).lower() != "people" else "do not"
        return sentence[:m.end(1)] + f" {aux} " + sentence[m.start(2):]
    m = re.match(r"^(need|we need)\b", sentence, re.I)
    if m:
        return "No need for" + re.sub(r"^\s*(to\b|more\b)?", lambda x: " " + (x.group(1) or ""), sentence[m.end():]).replace("  ", " ")
    m = re.match(r"^(make|stop|keep|build|create|increase|reduce|allow|ban|require|provide|add|expand|invest|get|give|put|bring|improve|encourage|support|protect|fund|raise|lower|tax|limit|remove|introduce|offer|use|start|end)\b", sentence, re.I)
    if m:
        return "Do not " + sentence[0].lower() + sentence[1:]
    return None


def en_unnegate(sentence: str, rng: random.Random) -> str | None:
    table = [
        (r"(should|must|would|will|could|is|are|was|were|does|do|did|has|have) not", r"\1"),
        (r"(should|would|could|is|are|was|were|does|do|did|has|have)n['’]t", r"\1"),
        (r"can['’]t|cannot", "can"), (r"won['’]t", "will"),
        (r"don['’]t (need|want|support|like|agree|believe|think|have)", r"\1"),
        (r"never", "always"), (r"nobody", "everybody"), (r"no one", "everyone"),
    ]
    return sub_first(sentence, table, rng)


EN_ANTONYMS = [
    ("support", "oppose"), ("supports", "opposes"), ("agree", "disagree"), ("in favour of", "against"),
    ("in favor of", "against"), ("approve", "reject"), ("welcome", "reject"),
    ("good idea", "bad idea"), ("great idea", "terrible idea"), ("more", "less"), ("increase", "decrease"),
    ("increased", "decreased"), ("raise", "lower"), ("higher", "lower"), ("expand", "cut back"),
    ("better", "worse"), ("allow", "ban"), ("allowed", "banned"), ("encourage", "discourage"),
    ("stronger", "weaker"), ("benefit", "harm"), ("helps", "hurts"), ("help", "hurt"),
    ("fair", "unfair"), ("effective", "ineffective"), ("necessary", "unnecessary"),
    ("important", "unimportant"), ("safe", "unsafe"), ("good", "bad"),
    ("positive", "negative"), ("success", "failure"), ("enough", "too little"), ("easy", "hard"),
]
EN_FLIP_FRAMES = ["I'm against this: ", "I reject the idea that ", "It is wrong to say that ",
                  "I disagree with the view that ", "I don't accept that "]
EN_SAME_FRAMES = ["My proposal: ", "Put simply: ", "My point is this: ", "In short: ", "What I'm saying is: "]
EN_SOFT_FRAMES = ["I'm not completely sure, but ", "Perhaps ", "It could be that ", "I wonder whether ",
                  "In some cases, ", "To some extent, ", "I might be wrong, but ", "Possibly ",
                  "It seems to me that ", "Arguably "]
EN_SOFT_TAILS = [", at least in some cases", ", but I could be wrong", ", if that is feasible",
                 ", though there are arguments on both sides", ", to a degree", ", maybe"]
EN_AMP_FRAMES = ["Without any doubt, ", "Let me be very clear: ", "This is urgent: ", "Absolutely: ",
                 "It is essential that ", "Everyone knows that ", "There is no question that ",
                 "Above all, "]
EN_AMP_TAILS = [". This cannot wait any longer", ", no question about it", ", full stop",
                ", and it is long overdue", ". Nothing matters more", ", period"]
EN_WEAKEN = [("must", "should"), ("have to", "might want to"), ("has to", "might need to"),
             ("need to", "could"), ("needs to", "could"), ("should", "could perhaps"), ("will", "may"),
             ("is", "may be"), ("are", "may be"), ("all", "some"), ("every", "some"),
             ("always", "often"), ("never", "rarely"), ("everyone", "many people"),
             ("nobody", "few people"), ("very", "fairly"), ("really", "somewhat")]
EN_STRENGTHEN = [("should", "must"), ("could", "must"), ("might", "will"), ("may", "will"),
                 ("need", "urgently need"), ("is", "is clearly"), ("are", "are clearly"),
                 ("some", "all"), ("often", "always"), ("many", "all"), ("important", "absolutely vital"),
                 ("good", "excellent"), ("bad", "terrible"), ("want", "demand")]
EN_BOOSTERS_DEL = ["very", "really", "absolutely", "extremely", "definitely", "totally", "completely",
                   "clearly", "obviously", "strongly", "highly", "truly", "desperately", "urgently"]
EN_HEDGES_DEL = ["I think that", "I think", "I believe that", "I believe", "I feel that", "I feel", "maybe",
                 "perhaps", "probably", "possibly", "kind of", "sort of", "a bit", "somewhat",
                 "I guess", "in my opinion", "IMO", "it seems", "might", "a little"]
EN_SAME_SWAPS = [("do not", "don't"), ("does not", "doesn't"), ("is not", "isn't"), ("cannot", "can't"),
                 ("it is", "it's"), ("people", "residents"), ("city", "town"), ("need", "require"),
                 ("get rid of", "remove"), ("a lot of", "many"), ("lots of", "many"), ("kids", "children"),
                 ("buy", "purchase"), ("help", "assist"), ("make sure", "ensure"), ("big", "large"),
                 ("government", "state"), ("think", "believe"), ("also", "as well"), ("start", "begin")]


# --- German ------------------------------------------------------------------------------------

DE_MODAL = r"(sollte|sollten|soll|sollen|muss|müssen|kann|können|könnte|könnten|darf|dürfen|wird|werden|würde|würden|ist|sind|war|waren|hat|haben|gibt)"

def de_negate(sentence: str, rng: random.Random) -> str | None:
    """'nicht' after the first modal/copula (V2 clause), or before a final infinitive (proposal)."""
    m = re.search(r"\b" + DE_MODAL + r"\b", sentence)
    if m and not re.search(r"\b(nicht|kein\w*|nie)\b", sentence, re.I):
        if m.group(1) == "gibt":  # "es gibt X" -> "es gibt keine X" is gendered; "nicht genug"
            return None
        return _tidy(sentence[:m.end()] + " nicht" + sentence[m.end():])
    body, end = _strip_end(sentence)
    words = body.split()
    if len(words) >= 2 and re.fullmatch(r"[a-zäöüß]+(en|ern|eln)", words[-1]) and not re.search(r"\b(nicht|kein\w*)\b", body, re.I):
        return " ".join(words[:-1] + ["nicht", words[-1]]) + end
    return None


def de_unnegate(sentence: str, rng: random.Random) -> str | None:
    table = [(r"nicht mehr", "weiterhin"), (r"nicht", ""), (r"keine", ""), (r"kein", "ein"),
             (r"keinen", "einen"), (r"keinem", "einem"), (r"nie", "immer"), (r"niemals", "immer"),
             (r"niemand", "jeder"), (r"nichts", "etwas")]
    out = sub_first(sentence, table, rng, flags=0)
    return out


DE_ANTONYMS = [
    ("dafür", "dagegen"), ("bin für", "bin gegen"), ("sind für", "sind gegen"), ("gute Idee", "schlechte Idee"),
    ("sinnvoll", "sinnlos"), ("mehr", "weniger"), ("erhöhen", "senken"), ("erhöht", "gesenkt"),
    ("ausbauen", "abbauen"), ("fördern", "einschränken"), ("gefördert", "eingeschränkt"),
    ("verbieten", "erlauben"), ("verboten", "erlaubt"), ("stärken", "schwächen"), ("besser", "schlechter"),
    ("höher", "niedriger"), ("billiger", "teurer"), ("günstiger", "teurer"), ("gut", "schlecht"),
    ("richtig", "falsch"), ("wichtig", "unwichtig"), ("gerecht", "ungerecht"), ("notwendig", "unnötig"),
    ("unterstützen", "ablehnen"), ("Ausbau", "Rückbau"), ("Förderung", "Streichung"),
    ("positiv", "negativ"), ("leicht", "schwer"), ("zulassen", "verhindern"), ("attraktiver", "unattraktiver"),
]
DE_FLIP_FRAMES = ["Ich bin dagegen: ", "Das lehne ich ab: ", "Falsch ist: ", "Ich halte nichts davon: ",
                  "Nein zu folgendem Vorschlag: "]
DE_SAME_FRAMES = ["Mein Vorschlag: ", "Kurz gesagt: ", "Mir geht es um Folgendes: ", "Meine Idee: ",
                  "Zusammengefasst: "]
DE_SOFT_FRAMES = ["Ich bin mir nicht ganz sicher, aber ", "Vielleicht: ", "Unter Umständen: ", "Eventuell: ",
                  "Man könnte überlegen: ", "Möglicherweise gilt: ", "Ich frage mich, ob gilt: ",
                  "In manchen Fällen gilt: ", "Ich könnte mich irren, aber "]
DE_SOFT_TAILS = [", zumindest in manchen Fällen", ", aber ich kann mich irren", ", wenn es machbar ist",
                 ", wobei es auch Gegenargumente gibt", ", vielleicht", ", bis zu einem gewissen Grad"]
DE_AMP_FRAMES = ["Ohne jeden Zweifel: ", "Ganz klar: ", "Das ist dringend: ", "Unbedingt: ",
                 "Es ist absolut notwendig: ", "Jeder weiß es: ", "Vor allem: ", "Das steht fest: "]
DE_AMP_TAILS = [". Das duldet keinen Aufschub", ", da gibt es nichts zu diskutieren", ", Punkt",
                ", und zwar sofort", ". Das ist längst überfällig", ", ganz eindeutig"]
DE_WEAKEN = [("muss", "sollte"), ("müssen", "sollten"), ("sollte", "könnte"), ("sollten", "könnten"),
             ("soll", "könnte"), ("sollen", "könnten"), ("ist", "ist wohl"), ("sind", "sind teilweise"),
             ("wird", "könnte"), ("alle", "manche"), ("immer", "oft"), ("nie", "selten"), ("sehr", "recht"),
             ("jeder", "mancher"), ("unbedingt", "möglichst")]
DE_STRENGTHEN = [("sollte", "muss"), ("sollten", "müssen"), ("soll", "muss"), ("sollen", "müssen"),
                 ("könnte", "muss"), ("könnten", "müssen"), ("ist", "ist eindeutig"), ("sind", "sind eindeutig"),
                 ("manche", "alle"), ("oft", "immer"), ("viele", "alle"), ("wichtig", "extrem wichtig"),
                 ("gut", "hervorragend"), ("schlecht", "katastrophal"), ("mehr", "viel mehr")]
DE_BOOSTERS_DEL = ["sehr", "wirklich", "unbedingt", "absolut", "extrem", "dringend", "total", "völlig",
                   "definitiv", "eindeutig", "sofort", "endlich", "auf jeden Fall", "ganz", "massiv"]
DE_HEDGES_DEL = ["ich finde", "ich denke", "ich glaube", "meiner Meinung nach", "vielleicht", "eventuell",
                 "eher", "etwas", "wahrscheinlich", "möglicherweise", "ein bisschen", "irgendwie", "wohl"]
DE_SAME_SWAPS = [("Menschen", "Leute"), ("Stadt", "Gemeinde"), ("wichtig", "bedeutend"), ("schnell", "rasch"),
                 ("Kinder", "Kids"), ("beginnen", "anfangen"), ("bekommen", "erhalten"), ("zum Beispiel", "etwa"),
                 ("z.B.", "zum Beispiel"), ("und", "sowie"), ("auch", "ebenfalls"), ("nur", "lediglich"),
                 ("Auto", "PKW"), ("Autos", "PKWs"), ("Geld", "finanzielle Mittel"), ("Bürger", "Bürgerinnen und Bürger")]


# --- French ------------------------------------------------------------------------------------

FR_VERB = r"(est|sont|doit|doivent|devrait|devraient|peut|peuvent|pourrait|pourraient|faut|faudrait|va|vont|serait|seraient|permettrait|permettraient|aide|aident|réduirait|réduiraient|ont|veux|voulons|suis|sommes|trouve|crois|pense|marche|mettraient|mettrait|libérerait|coûterait|découragerait|simplifierait|profiteraient)"

def _ne(word: str) -> str:
    return "n'" if re.match(r"[aeiouéèêhâîôû]", word, re.I) else "ne "


def fr_negate(sentence: str, rng: random.Random) -> str | None:
    """ne ... pas around the first finite verb; 'Ne pas' before a leading infinitive (proposal)."""
    if re.search(r"\b(ne|n'|n’|pas|jamais|aucun|aucune|rien)\b", sentence, re.I):
        return None
    if re.search(r"\bil y a\b", sentence):
        return _tidy(re.sub(r"\bil y a\b", "il n'y a pas", sentence, count=1))
    m = re.search(r"\b(il|on|ça|cela|ce|c'|qui|je|j'|nous|vous|ils|elles|elle)\s*" + FR_VERB + r"\b", sentence, re.I)
    if not m:
        m = re.search(r"(?<=\s)" + FR_VERB + r"\b", sentence)
    if m:
        verb_start = m.start(m.lastindex) if m.lastindex else m.start()
        verb = sentence[verb_start:m.end()]
        pron = sentence[m.start():verb_start]
        if pron.lower() in ("j'", "j’"):
            pron = "je "
        if pron.lower().startswith("c'"):
            pron = "ce "
        return _tidy(sentence[:m.start()] + pron + _ne(verb) + verb + " pas" + sentence[m.end():])
    m = re.match(r"^([A-ZÉ][a-zéèêàâîôûç]+(?:er|ir|re))\b", sentence)
    if m:
        return "Ne pas " + sentence[0].lower() + sentence[1:]
    return None


def fr_unnegate(sentence: str, rng: random.Random) -> str | None:
    m = re.search(r"\b(ne\s+|n['’])(\w+)\s+(pas|plus|jamais)\b", sentence, re.I)
    if m:
        tail = {"pas": "", "plus": "encore", "jamais": "toujours"}[m.group(3).lower()]
        return _tidy(sentence[:m.start()] + m.group(2) + (" " + tail if tail else "") + sentence[m.end():])
    m = re.match(r"^Ne pas\s+", sentence)
    if m:
        return _tidy(sentence[m.end():])
    return None


FR_ANTONYMS = [
    ("suis pour", "suis contre"), ("sommes pour", "sommes contre"), ("favorable", "défavorable"), ("d'accord", "pas d'accord"), ("bonne idée", "mauvaise idée"),
    ("plus de", "moins de"), ("augmenter", "réduire"), ("augmente", "diminue"), ("développer", "réduire"),
    ("interdire", "autoriser"), ("interdits", "autorisés"), ("interdites", "autorisées"),
    ("encourager", "décourager"), ("favoriser", "freiner"), ("mieux", "moins bien"), ("utile", "inutile"),
    ("nécessaire", "inutile"), ("efficace", "inefficace"),
    ("soutiens", "rejette"), ("soutenir", "rejeter"), ("facile", "difficile"),
    ("trop", "pas assez"), ("positif", "négatif"), ("avancée", "régression"), ("dignement", "indignement"),
    ("subventionnés", "taxés"), ("subventionner", "taxer"), ("gratuits", "payants"), ("gratuite", "payante"),
]
FR_FLIP_FRAMES = ["Je suis contre : ", "Je rejette cette idée : ", "Il est faux de dire que ",
                  "Je ne suis pas d'accord avec ceci : ", "Non à cette proposition : "]
FR_SAME_FRAMES = ["Ma proposition : ", "En résumé : ", "Mon point de vue : ", "Autrement dit : ",
                  "Ce que je veux dire : "]
FR_SOFT_FRAMES = ["Je ne suis pas tout à fait sûr, mais ", "Peut-être que ", "Dans certains cas, ",
                  "À la rigueur, ", "D'une certaine manière, ", "Je me trompe peut-être, mais ",
                  "Il me semble que ", "Éventuellement, "]
FR_SOFT_TAILS = [", du moins dans certains cas", ", mais je peux me tromper", ", si c'est faisable",
                 ", même s'il y a des arguments dans les deux sens", ", peut-être", ", dans une certaine mesure"]
FR_AMP_FRAMES = ["Sans aucun doute, ", "C'est une évidence : ", "Il est urgent d'agir : ", "Absolument : ",
                 "Il est indispensable que l'on comprenne ceci : ", "Tout le monde le sait : ", "Avant tout : ",
                 "Soyons clairs : "]
FR_AMP_TAILS = [". Ça ne peut plus attendre", ", point final", ", et c'est urgent", ", sans discussion possible",
                ". C'est une priorité absolue", ", clairement"]
FR_WEAKEN = [("doit", "devrait"), ("doivent", "devraient"), ("il faut", "il faudrait peut-être"),
             ("devrait", "pourrait"), ("devraient", "pourraient"), ("est", "est peut-être"),
             ("sont", "sont parfois"), ("tous", "certains"), ("toutes", "certaines"), ("toujours", "souvent"),
             ("très", "assez"), ("beaucoup", "un peu"), ("trop", "un peu trop")]
FR_STRENGTHEN = [("devrait", "doit"), ("devraient", "doivent"), ("pourrait", "doit"), ("pourraient", "doivent"),
                 ("il faudrait", "il faut absolument"), ("est", "est clairement"), ("sont", "sont clairement"),
                 ("souvent", "toujours"), ("certains", "tous les"), ("important", "absolument vital"),
                 ("bonne", "excellente"), ("beaucoup", "énormément")]
FR_BOOSTERS_DEL = ["très", "vraiment", "absolument", "extrêmement", "totalement", "complètement",
                   "clairement", "vraie", "vrai", "surtout", "urgemment", "beaucoup trop", "énormément"]
FR_HEDGES_DEL = ["je pense que", "je crois que", "je trouve que", "à mon avis", "peut-être", "un peu",
                 "plutôt", "sans doute", "probablement", "il me semble que", "d'abord"]
FR_SAME_SWAPS = [("les gens", "les habitants"), ("ville", "commune"), ("beaucoup de", "de nombreux"),
                 ("plus de", "davantage de"), ("voiture", "automobile"), ("voitures", "automobiles"),
                 ("vélo", "bicyclette"), ("aussi", "également"), ("rapidement", "vite"), ("aider", "soutenir"),
                 ("enfants", "jeunes enfants"), ("l'État", "les pouvoirs publics"), ("maire", "élu local")]


# --- the rule table ------------------------------------------------------------------------------

def _same_identity(sentence: str, rng: random.Random) -> str | None:
    return sentence


def _same_punct(sentence: str, rng: random.Random) -> str | None:
    body, end = _strip_end(sentence)
    if end == ".":
        return body
    if end == "":
        return sentence + "."
    return None


def _reorder(lang: str) -> Rule:
    """'A because B.' -> 'Because B, a.' (en; fr with parce que). German would need verb
    inversion, so German gets only the sentence swap (see contrast_pairs)."""
    conj = {"en": r"because|since", "fr": r"parce que|puisque", "de": None}[lang]

    def rule(sentence: str, rng: random.Random) -> str | None:
        if conj is None:
            return None
        m = re.match(r"^(.{12,}?),?\s+(" + conj + r")\s+(.{8,}?)([.!?]*)$", sentence, re.I)
        if not m:
            return None
        return _tidy(f"{m.group(2).capitalize()} {m.group(3)}, {_lower_first(m.group(1))}{m.group(4) or '.'}")
    return rule


def make_rules(lang: str) -> dict[str, list[tuple[str, Rule]]]:
    t = {"en": dict(neg=en_negate, unneg=en_unnegate, ant=EN_ANTONYMS, flip=EN_FLIP_FRAMES, same=EN_SAME_FRAMES,
                    soft=EN_SOFT_FRAMES, softt=EN_SOFT_TAILS, amp=EN_AMP_FRAMES, ampt=EN_AMP_TAILS, weak=EN_WEAKEN,
                    strong=EN_STRENGTHEN, bdel=EN_BOOSTERS_DEL, hdel=EN_HEDGES_DEL, swaps=EN_SAME_SWAPS),
         "de": dict(neg=de_negate, unneg=de_unnegate, ant=DE_ANTONYMS, flip=DE_FLIP_FRAMES, same=DE_SAME_FRAMES,
                    soft=DE_SOFT_FRAMES, softt=DE_SOFT_TAILS, amp=DE_AMP_FRAMES, ampt=DE_AMP_TAILS, weak=DE_WEAKEN,
                    strong=DE_STRENGTHEN, bdel=DE_BOOSTERS_DEL, hdel=DE_HEDGES_DEL, swaps=DE_SAME_SWAPS),
         "fr": dict(neg=fr_negate, unneg=fr_unnegate, ant=FR_ANTONYMS, flip=FR_FLIP_FRAMES, same=FR_SAME_FRAMES,
                    soft=FR_SOFT_FRAMES, softt=FR_SOFT_TAILS, amp=FR_AMP_FRAMES, ampt=FR_AMP_TAILS, weak=FR_WEAKEN,
                    strong=FR_STRENGTHEN, bdel=FR_BOOSTERS_DEL, hdel=FR_HEDGES_DEL, swaps=FR_SAME_SWAPS)}[lang]
    return {
        "same": [("identity", _same_identity), ("punctuation", _same_punct), ("neutral-frame", prefix(t["same"], lang)),
                 ("synonym", swap(t["swaps"])), ("reorder", _reorder(lang))],
        "flipped": [("negate", t["neg"]), ("unnegate", t["unneg"]), ("antonym", swap(t["ant"])),
                    ("reject-frame", prefix(t["flip"], lang)), ("answer", answer_flip)],
        "softened": [("hedge-frame", prefix(t["soft"], lang)), ("hedge-tail", suffix(t["softt"])),
                     ("weaken", swap(t["weak"], both_ways=False)), ("drop-booster", delete(t["bdel"])),
                     ("calm", calm)],
        "amplified": [("booster-frame", prefix(t["amp"], lang)), ("booster-tail", suffix(t["ampt"])),
                      ("strengthen", swap(t["strong"], both_ways=False)), ("drop-hedge", delete(t["hdel"])),
                      ("exclaim", shout)],
    }


RULES = {lang: make_rules(lang) for lang in ("en", "de", "fr")}
# Frames are one rule family among several; they are drawn less often so that most pairs are
# edits inside the sentence, like the rewrites a model makes.
FAMILY_WEIGHT = {"identity": 0.5, "punctuation": 0.4, "reorder": 2.0, "neutral-frame": 0.6, "synonym": 1.2,
                 "negate": 1.5, "unnegate": 2.0, "antonym": 1.2, "reject-frame": 0.3,
                 "hedge-frame": 0.6, "hedge-tail": 0.6, "weaken": 1.5, "drop-booster": 2.0, "calm": 0.5,
                 "booster-frame": 0.6, "booster-tail": 0.6, "strengthen": 1.5, "drop-hedge": 2.0, "exclaim": 0.4}


def apply_rule(label: str, rules: list[tuple[str, Rule]], sentences: list[str], rng: random.Random):
    """Try the rule families in a weighted random order on the text's sentences; the first that
    applies wins. A flip is applied to every sentence a flip rule reaches (a multi-sentence
    contribution is flipped as a whole); the other classes edit one sentence, the first one."""
    order = sorted(rules, key=lambda r: -rng.random() * FAMILY_WEIGHT.get(r[0], 1.0))
    for name, rule in order:
        if label == "flipped":
            outs = [rule(s, rng) for s in sentences]
            if outs[0] is None or sum(o is not None for o in outs) < (len(sentences) + 1) // 2:
                continue
            if name == "reject-frame":  # one frame around the whole contribution, not one per sentence
                outs = [outs[0]] + sentences[1:]
            new = [o if o is not None else s for o, s in zip(outs, sentences, strict=True)]
            if name not in ("answer", "reject-frame") and _ANSWER_RE.match(new[0]):  # "Yes, we should" -> "No, we should not"
                new[0] = answer_flip(new[0], rng)
        else:
            # the edited sentence: the last one for punctuation, else the first with 3+ words
            k = len(sentences) - 1 if name == "punctuation" else next(
                (i for i, s in enumerate(sentences) if len(s.split()) >= 3), 0)
            out = rule(sentences[k], rng)
            if out is None:
                continue
            new = sentences[:k] + [out] + sentences[k + 1:]
        text = " ".join(new)
        if label != "same" and _norm(text) == _norm(" ".join(sentences)):
            continue
        return name, text
    return None, None


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


PARAPHRASE = ("punctuation", "neutral-frame", "synonym", "reorder")


def paraphrase(sentences: list[str], language: str, rng: random.Random, n: int) -> tuple[list[str], list[str]]:
    """Up to n meaning-keeping edits stacked (distinct families), and a sentence swap for a
    two-sentence text half the time: a "same" output as far from its source as a light rewrite."""
    names = []
    rules = [r for r in RULES[language]["same"] if r[0] in PARAPHRASE]
    for _ in range(n):
        rule, text = apply_rule("same", [r for r in rules if r[0] not in names], sentences, rng)
        if text is None:
            break
        names.append(rule)
        sentences = split_sentences(text) or [text]
    if len(sentences) == 2 and rng.random() < 0.5:
        sentences, names = [sentences[1], sentences[0]], names + ["swap"]
    return sentences, names


def contrast_pairs(text: str, language: str, rng: random.Random, reverse_prob: float = 0.5,
                   compose_prob: float = 0.5) -> list[dict]:
    """Up to one pair per class for one contribution: {source, output, label, rule, reversed}.

    `same` outputs stack one to three paraphrase edits (or none, 15%); every other class is, with
    probability `compose_prob`, also paraphrased, so that how much the wording moved says nothing
    about the class: only the direction of the change does."""
    sentences = split_sentences(text) or [text]
    source = " ".join(sentences)
    pairs = []
    for label in LABELS:
        if label == "same":
            if rng.random() < 0.15:
                rule, output = "identity", source
            else:
                new, names = paraphrase(sentences, language, rng, rng.choice([1, 1, 2, 3]))
                rule, output = "+".join(names) or "identity", " ".join(new)
        else:
            rule, output = apply_rule(label, RULES[language][label], sentences, rng)
            if output is None:
                continue
            if rng.random() < compose_prob:
                new, names = paraphrase(split_sentences(output) or [output], language, rng, 1)
                rule, output = "+".join([rule, *names]), " ".join(new)
        reversed_ = rule != "identity" and rng.random() < reverse_prob
        src_text, out_text, label_out = (output, source, REVERSE[label]) if reversed_ else (source, output, label)
        pairs.append({"source": src_text, "output": out_text, "label": label_out, "rule": f"{label}:{rule}",
                      "reversed": reversed_})
    return pairs
