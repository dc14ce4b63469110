"""Synthetic debates with known opinion groups, for tests, benchmarks and the demo.

Each debate asks one question (a topic, in en/fr/de). Each opinion group takes a stance toward
it (support, oppose, conditional support) and argues with reasons of its own, so that the groups'
comments differ in what they say, not only in how. Every comment carries its ground-truth
`group`, and the votes follow the groups: members mostly agree with their own group's comments
and disagree with the opposite stance's, with noise.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pluralign.errors import UsageError

STANCES = ("support", "oppose", "conditional")

# How much a member of a group with stance a agrees with a comment of stance b, in [-1, 1].
# Two groups with the same stance still differ in their reasons, so they agree less than 1.
_AFFINITY = {
    ("support", "oppose"): -1.0,
    ("support", "conditional"): -0.2,
    ("oppose", "conditional"): -0.4,
}
SAME_GROUP, SAME_STANCE = 1.0, 0.6
PASS_RATE = 0.1  # share of "pass" votes whatever the affinity
NOISE = 0.05  # even a full ally disagrees, and a full opponent agrees, this often

# Stance frames: the opening sentence of a comment, before its reason.
FRAMES = {
    "en": {
        "support": ["I support this proposal.", "Yes, we should do it.", "I am clearly in favour.", "This is a good idea."],
        "oppose": ["I am against this proposal.", "No, we should not do it.", "I strongly oppose this.", "This is a bad idea."],
        "conditional": ["I could accept it, but only under conditions.", "Yes, but not as it stands.",
                        "I would support it only if it is done carefully.", "Maybe, with safeguards."],
    },
    "fr": {
        "support": ["Je soutiens cette proposition.", "Oui, il faut le faire.", "Je suis clairement pour.", "C'est une bonne idée."],
        "oppose": ["Je suis contre cette proposition.", "Non, il ne faut pas le faire.", "Je m'y oppose fermement.", "C'est une mauvaise idée."],
        "conditional": ["Je pourrais l'accepter, mais sous conditions.", "Oui, mais pas en l'état.",
                        "Je ne la soutiendrais que si elle est faite avec soin.", "Peut-être, avec des garde-fous."],
    },
    "de": {
        "support": ["Ich unterstütze diesen Vorschlag.", "Ja, wir sollten das tun.", "Ich bin klar dafür.", "Das ist eine gute Idee."],
        "oppose": ["Ich bin gegen diesen Vorschlag.", "Nein, das sollten wir nicht tun.", "Ich lehne das entschieden ab.", "Das ist eine schlechte Idee."],
        "conditional": ["Ich könnte zustimmen, aber nur unter Bedingungen.", "Ja, aber nicht in dieser Form.",
                        "Ich wäre nur dafür, wenn es sorgfältig umgesetzt wird.", "Vielleicht, mit Sicherungen."],
    },
}

# Topics: a question and, per stance, distinct reasons (full sentences) in each language.
TOPICS = {
    "car-free-centre": {
        "en": {
            "question": "Should the city ban private cars from the city centre?",
            "support": ["The air in the centre would be much cleaner.", "Children could walk to school safely.",
                        "Streets would have room for trees, benches and cafés.", "Buses would no longer be stuck in traffic jams."],
            "oppose": ["Small shops would lose the customers who come by car.", "Elderly and disabled people depend on their cars.",
                       "Public transport is too poor to replace the car.", "Craftsmen need their vans to reach their clients."],
            "conditional": ["Public transport must be improved before any ban.", "Deliveries and disabled drivers need exemptions.",
                            "It should first be tested for one year and evaluated.", "Cheap park-and-ride sites must be built at the edge of town."],
        },
        "fr": {
            "question": "La ville doit-elle interdire les voitures particulières dans le centre-ville ?",
            "support": ["L'air du centre serait beaucoup plus propre.", "Les enfants pourraient aller à l'école à pied en sécurité.",
                        "Les rues auraient de la place pour des arbres, des bancs et des terrasses.", "Les bus ne seraient plus bloqués dans les embouteillages."],
            "oppose": ["Les petits commerces perdraient les clients qui viennent en voiture.", "Les personnes âgées et handicapées dépendent de leur voiture.",
                       "Les transports en commun sont trop faibles pour remplacer la voiture.", "Les artisans ont besoin de leur camionnette pour aller chez leurs clients."],
            "conditional": ["Il faut d'abord améliorer les transports en commun.", "Les livraisons et les conducteurs handicapés doivent avoir des dérogations.",
                            "Il faudrait d'abord l'essayer pendant un an et l'évaluer.", "Il faut construire des parkings relais bon marché en périphérie."],
        },
        "de": {
            "question": "Soll die Stadt private Autos aus der Innenstadt verbannen?",
            "support": ["Die Luft in der Innenstadt wäre viel sauberer.", "Kinder könnten sicher zu Fuß zur Schule gehen.",
                        "Auf den Straßen wäre Platz für Bäume, Bänke und Cafés.", "Busse würden nicht mehr im Stau stehen."],
            "oppose": ["Kleine Geschäfte würden die Kunden verlieren, die mit dem Auto kommen.", "Ältere und behinderte Menschen sind auf ihr Auto angewiesen.",
                       "Der öffentliche Verkehr ist zu schwach, um das Auto zu ersetzen.", "Handwerker brauchen ihre Transporter, um zu ihren Kunden zu kommen."],
            "conditional": ["Zuerst muss der öffentliche Verkehr ausgebaut werden.", "Lieferverkehr und behinderte Fahrer brauchen Ausnahmen.",
                            "Man sollte es zuerst ein Jahr lang testen und auswerten.", "Am Stadtrand müssen günstige Park-and-Ride-Plätze entstehen."],
        },
    },
    "basic-income": {
        "en": {
            "question": "Should the country introduce a universal basic income?",
            "support": ["Nobody would have to live in poverty any more.", "People could take time to care for family or retrain.",
                        "It would replace a complicated and humiliating benefits system.", "Artists and founders could take risks without fear."],
            "oppose": ["It would cost far more than the state can afford.", "Many people would stop working.",
                       "Taxes on workers would have to rise sharply.", "Money would go to rich people who do not need it."],
            "conditional": ["It should first be tried in a few regions.", "It should only be paid to people below a certain income.",
                            "It must not replace support for disabled people.", "It should be funded by a tax on large fortunes."],
        },
        "fr": {
            "question": "Le pays doit-il instaurer un revenu universel ?",
            "support": ["Plus personne n'aurait à vivre dans la pauvreté.", "Les gens pourraient prendre le temps de s'occuper de leur famille ou de se former.",
                        "Il remplacerait un système d'aides compliqué et humiliant.", "Les artistes et les créateurs d'entreprise pourraient prendre des risques sans peur."],
            "oppose": ["Il coûterait bien plus que ce que l'État peut payer.", "Beaucoup de gens arrêteraient de travailler.",
                       "Les impôts des salariés devraient fortement augmenter.", "L'argent irait aussi aux riches qui n'en ont pas besoin."],
            "conditional": ["Il faudrait d'abord l'essayer dans quelques régions.", "Il ne devrait être versé qu'en dessous d'un certain revenu.",
                            "Il ne doit pas remplacer l'aide aux personnes handicapées.", "Il devrait être financé par un impôt sur les grandes fortunes."],
        },
        "de": {
            "question": "Soll das Land ein bedingungsloses Grundeinkommen einführen?",
            "support": ["Niemand müsste mehr in Armut leben.", "Menschen hätten Zeit, sich um die Familie zu kümmern oder sich weiterzubilden.",
                        "Es würde ein kompliziertes und demütigendes Sozialsystem ersetzen.", "Künstler und Gründer könnten ohne Angst etwas wagen."],
            "oppose": ["Es würde viel mehr kosten, als der Staat bezahlen kann.", "Viele Menschen würden aufhören zu arbeiten.",
                       "Die Steuern für Arbeitnehmer müssten stark steigen.", "Das Geld ginge auch an Reiche, die es nicht brauchen."],
            "conditional": ["Man sollte es zuerst in einigen Regionen erproben.", "Es sollte nur unterhalb eines bestimmten Einkommens gezahlt werden.",
                            "Es darf die Hilfe für behinderte Menschen nicht ersetzen.", "Es sollte durch eine Steuer auf große Vermögen finanziert werden."],
        },
    },
    "four-day-school": {
        "en": {
            "question": "Should schools switch to a four-day week?",
            "support": ["Pupils are exhausted and need more rest.", "Teachers would have a day to prepare better lessons.",
                        "Schools would save money on buses and heating.", "Families would have more time together."],
            "oppose": ["Working parents cannot find childcare for the fifth day.", "Pupils would fall behind in reading and maths.",
                       "Longer school days would be too tiring for young children.", "Poor children would lose a free school meal every week."],
            "conditional": ["The free day must offer supervised activities.", "It should only apply to secondary schools.",
                            "The curriculum must be reduced at the same time.", "Each school should decide after consulting parents."],
        },
        "fr": {
            "question": "Les écoles doivent-elles passer à la semaine de quatre jours ?",
            "support": ["Les élèves sont épuisés et ont besoin de plus de repos.", "Les enseignants auraient un jour pour mieux préparer leurs cours.",
                        "Les écoles économiseraient sur les bus et le chauffage.", "Les familles auraient plus de temps ensemble."],
            "oppose": ["Les parents qui travaillent ne trouvent pas de garde pour le cinquième jour.", "Les élèves prendraient du retard en lecture et en mathématiques.",
                       "Des journées plus longues seraient trop fatigantes pour les jeunes enfants.", "Les enfants pauvres perdraient un repas gratuit à la cantine chaque semaine."],
            "conditional": ["Le jour libre doit proposer des activités encadrées.", "Cela ne devrait concerner que le collège et le lycée.",
                            "Les programmes doivent être allégés en même temps.", "Chaque école devrait décider après avoir consulté les parents."],
        },
        "de": {
            "question": "Sollen Schulen auf eine Vier-Tage-Woche umstellen?",
            "support": ["Die Schüler sind erschöpft und brauchen mehr Erholung.", "Lehrkräfte hätten einen Tag, um den Unterricht besser vorzubereiten.",
                        "Die Schulen würden bei Bussen und Heizung sparen.", "Familien hätten mehr gemeinsame Zeit."],
            "oppose": ["Berufstätige Eltern finden für den fünften Tag keine Betreuung.", "Die Schüler würden beim Lesen und in Mathematik zurückfallen.",
                       "Längere Schultage wären für kleine Kinder zu anstrengend.", "Arme Kinder würden jede Woche ein kostenloses Schulessen verlieren."],
            "conditional": ["Am freien Tag muss es betreute Angebote geben.", "Es sollte nur für weiterführende Schulen gelten.",
                            "Gleichzeitig muss der Lehrplan gekürzt werden.", "Jede Schule sollte nach Befragung der Eltern selbst entscheiden."],
        },
    },
}
LANGUAGES = tuple(FRAMES)


@dataclass
class SynthSpec:
    """What to generate. Group i takes stance STANCES[i % 3]; groups sharing a stance split its reasons."""

    n_debates: int = 4
    group_sizes: tuple[int, ...] = (12, 8, 3)
    comments_per_participant: int = 1
    languages: tuple[str, ...] = ("en",)
    seed: int = 0
    vote_rate: float = 0.8  # chance that a participant votes on a given comment
    topics: tuple[str, ...] = field(default_factory=lambda: tuple(TOPICS))

    def __post_init__(self):
        self.group_sizes = tuple(int(s) for s in self.group_sizes)
        self.languages = tuple(self.languages)
        unknown = [lang for lang in self.languages if lang not in LANGUAGES]
        if unknown:
            raise UsageError(f"no synthetic templates for language(s) {unknown}; choose from {', '.join(LANGUAGES)}")
        if not self.group_sizes or min(self.group_sizes) < 1:
            raise UsageError(f"group sizes must be positive integers, got {self.group_sizes}")
        if not self.topics or set(self.topics) - set(TOPICS):
            raise UsageError(f"topics must be among {', '.join(TOPICS)}, got {self.topics}")
        if self.n_debates < 0 or self.comments_per_participant < 1:
            raise UsageError("n_debates must be >= 0 and comments_per_participant >= 1")

    @classmethod
    def from_cli(cls, args) -> SynthSpec:
        """From the `pluralign data synth` options: --group-sizes "12,8,3", --languages "en,fr"."""
        try:
            sizes = tuple(int(s) for s in str(args.group_sizes).split(",") if s.strip())
        except ValueError:
            raise UsageError(f"--group-sizes must be comma-separated integers, got {args.group_sizes!r}") from None
        languages = tuple(s.strip() for s in str(args.languages).split(",") if s.strip())
        return cls(n_debates=args.n_debates, group_sizes=sizes, comments_per_participant=args.comments_per_participant,
                   languages=languages, seed=args.seed)


def group_stance(index: int) -> str:
    return STANCES[index % len(STANCES)]


def affinity(voter_group: int, comment_group: int) -> float:
    if voter_group == comment_group:
        return SAME_GROUP
    a, b = group_stance(voter_group), group_stance(comment_group)
    if a == b:
        return SAME_STANCE
    return _AFFINITY.get((a, b), _AFFINITY.get((b, a), 0.0))


def _group_reasons(reasons: list[str], index: int, n_groups: int) -> list[str]:
    """The reasons of group `index`: groups sharing a stance take disjoint slices of its reasons."""
    sharing = list(range(index % len(STANCES), n_groups, len(STANCES)))
    mine = reasons[sharing.index(index)::len(sharing)]
    return mine or [reasons[index % len(reasons)]]


def synth_debates(spec: SynthSpec) -> Iterator[dict]:
    """`spec.n_debates` debates, cycling through languages and topics; the same spec gives the same debates."""
    rng = random.Random(spec.seed)
    topics = list(spec.topics)
    offset = rng.randrange(len(topics))
    for n in range(spec.n_debates):
        language = spec.languages[n % len(spec.languages)]
        topic = topics[(offset + n // len(spec.languages)) % len(topics)]
        yield _debate(f"synth-{spec.seed}-{n}-{language}-{topic}", TOPICS[topic][language], FRAMES[language],
                      language, spec, rng)


def _debate(debate_id: str, topic: dict, frames: dict, language: str, spec: SynthSpec, rng: random.Random) -> dict:
    n_groups = len(spec.group_sizes)
    groups: dict[str, str] = {}
    member_group: dict[str, int] = {}
    comments = []
    for g, size in enumerate(spec.group_sizes):
        stance = group_stance(g)
        reasons = _group_reasons(topic[stance], g, n_groups)
        for _ in range(size):
            participant = f"p{len(groups) + 1}"
            groups[participant] = f"g{g + 1}"
            member_group[participant] = g
            for _ in range(spec.comments_per_participant):
                text = f"{rng.choice(frames[stance])} {rng.choice(reasons)}"
                comments.append({"text": text, "author": participant, "group": f"g{g + 1}"})
    rng.shuffle(comments)  # so that a group's comments are not contiguous
    comments = [{"id": f"c{i + 1}", **c} for i, c in enumerate(comments)]

    votes = []
    for participant, g in member_group.items():
        for comment in comments:
            if comment["author"] == participant:
                value = 1  # as in Polis, authors agree with what they wrote
            elif rng.random() < spec.vote_rate:
                value = _draw_vote(affinity(g, int(comment["group"][1:]) - 1), rng)
            else:
                continue
            votes.append({"participant": participant, "comment": comment["id"], "vote": value})

    return {
        "id": debate_id,
        "question": topic["question"],
        "language": language,
        "comments": comments,
        "votes": votes,
        "groups": groups,
        "group_stances": {f"g{g + 1}": group_stance(g) for g in range(n_groups)},
    }


def _draw_vote(affinity_value: float, rng: random.Random) -> int:
    """Agree with probability rising with affinity, disagree falling; PASS_RATE passes."""
    agree = NOISE + (1 - PASS_RATE - 2 * NOISE) * (1 + affinity_value) / 2
    draw = rng.random()
    if draw < agree:
        return 1
    if draw < agree + PASS_RATE:
        return 0
    return -1


# --- ground truth of synthetic debates: groups, the minority, majority-biased targets --------


def comments_by_group(debate: dict) -> dict[str, list[str]]:
    """Comment texts by their ground-truth `group` (synthetic debates carry it on every comment)."""
    groups: dict[str, list[str]] = {}
    for comment in debate["comments"]:
        if not comment.get("group"):
            raise UsageError(f"debate {debate['id']}: comment {comment['id']} has no ground-truth group; "
                             "majority-biased targets need debates from `pluralign data synth`")
        groups.setdefault(comment["group"], []).append(comment["text"])
    return groups


def smallest_group(debate: dict) -> str:
    """The group with the fewest participants (ties: the first name)."""
    sizes: dict[str, int] = {}
    for group in debate["groups"].values():
        sizes[group] = sizes.get(group, 0) + 1
    return min(sorted(sizes), key=sizes.get)


def majority_biased_summaries(debates: list[dict], minority_share: float = 0.2, seed: int = 0) -> list[dict]:
    """One target summary per debate, as a biased summariser writes it: one comment of each
    majority group (in random order), plus one comment of the smallest group in exactly
    round(minority_share * len(debates)) debates. Outputs lines `{"id", "summary", "minority"}`.

    The sentences and the debates chosen use separate seeded generators, so shares 0 and 1 give
    the same majority sentences: the pair differs only by the minority's sentence."""
    pick, choose = random.Random(seed), random.Random(seed + 1)
    chosen = set(choose.sample(range(len(debates)), round(minority_share * len(debates))))
    targets = []
    for n, debate in enumerate(debates):
        groups, minority = comments_by_group(debate), smallest_group(debate)
        sentences = [pick.choice(groups[g]) for g in sorted(groups) if g != minority]
        pick.shuffle(sentences)
        minority_sentence = pick.choice(groups[minority])
        if n in chosen:
            sentences.append(minority_sentence)
        targets.append({"id": debate["id"], "summary": " ".join(sentences), "minority": n in chosen})
    return targets


def _word_string(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.casefold())) + " "


def minority_sentences(debate: dict) -> list[str]:
    """Sentences that only the smallest group wrote (its stance frames and reasons)."""
    from pluralign.rewards.text import split_sentences

    groups, minority = comments_by_group(debate), smallest_group(debate)
    others = {_word_string(s) for g, texts in groups.items() if g != minority for t in texts for s in split_sentences(t)}
    return sorted({s for t in groups[minority] for s in split_sentences(t) if _word_string(s) not in others})


def mentions_minority(debate: dict, text: str) -> bool:
    """Ground truth, independent of the scorer: does the text reproduce a sentence only the
    minority wrote? (Compared as lower-case word sequences, so tokenizer spacing does not matter.)"""
    words = _word_string(text)
    return any(_word_string(s) in words for s in minority_sentences(debate))


# --- proportional reference summaries: a warm start for SFT on synthetic debates --------------

# Who holds a view, by the group's share of participants, and the view itself, per language.
_SHARE_WORDS = {
    "en": ((0.4, "Many participants"), (0.2, "Some participants"), (0.0, "A few participants")),
    "fr": ((0.4, "Beaucoup de participants"), (0.2, "Certains participants"), (0.0, "Quelques participants")),
    "de": ((0.4, "Viele Teilnehmende"), (0.2, "Einige Teilnehmende"), (0.0, "Wenige Teilnehmende")),
}
_VIEWS = {
    "en": {"support": "support the proposal", "oppose": "oppose it", "conditional": "would accept it only under conditions"},
    "fr": {"support": "soutiennent la proposition", "oppose": "s'y opposent", "conditional": "ne l'accepteraient que sous conditions"},
    "de": {"support": "unterstützen den Vorschlag", "oppose": "lehnen ihn ab", "conditional": "würden ihn nur unter Bedingungen annehmen"},
}
_BECAUSE = {"en": "In their words:", "fr": "Selon eux :", "de": "In ihren Worten:"}


def _reason(text: str, language: str) -> str:
    """A synthetic comment without its stance frame: the reason it gives."""
    for frames in FRAMES[language].values():
        for frame in frames:
            if text.startswith(frame + " "):
                return text[len(frame) + 1:]
    return text


def proportional_summary(debate: dict) -> str:
    """A summary that names every opinion group, largest first, with a word for its share, its
    stance and its most frequent reason: the shape a pluralist summary takes (docs/design.md §4).
    For synthetic debates (`group_stances`, a ground-truth `group` on every comment)."""
    language = debate["language"]
    sizes: dict[str, int] = {}
    for group in debate["groups"].values():
        sizes[group] = sizes.get(group, 0) + 1
    reasons = comments_by_group(debate)
    total = sum(sizes.values())
    sentences = []
    for group in sorted(sizes, key=lambda g: (-sizes[g], g)):
        who = next(word for floor, word in _SHARE_WORDS[language] if sizes[group] / total >= floor)
        said = [_reason(t, language) for t in reasons.get(group, [])]
        common = max(sorted(set(said)), key=said.count) if said else ""
        sentences.append(f"{who} {_VIEWS[language][debate['group_stances'][group]]}. {_BECAUSE[language]} {common}".strip())
    return " ".join(sentences)
