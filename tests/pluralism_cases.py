"""Hand-written debates (en, fr, de) with a clear majority and a small minority of distinct position,
and candidate summaries: one honest and proportional, the others each a way to fail or to game."""

HACKS = ("majority_only", "minority_only", "false_balance", "keyword_stuffing", "dump", "off_topic", "empty")

_CASES = [
    {
        "id": "en-speed", "language": "en", "question": "Should the town lower the speed limit to 30 km/h?",
        "majority": [
            "Slower cars mean fewer people killed or injured on our streets.",
            "At 30 km/h a driver can stop in time when a child runs onto the road.",
            "Traffic noise at night keeps my family awake; slower traffic would be quieter.",
            "Less speeding means less exhaust and cleaner air in the centre.",
            "Cycling and walking would finally feel safe here.",
            "I would let my kids bike to school if cars drove slower.",
            "The main road is so loud that we cannot open our windows.",
            "Fewer accidents also means lower costs for hospitals.",
        ],
        "minority": [
            "Commuters from the villages would lose a lot of time every day.",
            "Delivery drivers and craftsmen are paid by the job, so a slower commute costs them money.",
        ],
        "summary": {
            "majority": [
                "Most participants support the 30 km/h limit because slower cars cause fewer deaths and injuries.",
                "They say drivers could stop in time for children who run onto the road.",
                "Many complain that traffic noise keeps them awake and hope for quieter streets.",
                "Several expect cleaner air and say cycling and walking would feel safer.",
            ],
            "minority": [
                "A small group opposes the limit because commuters from the villages and delivery drivers would lose time and money.",
            ],
            "minority_extra": [
                "They stress that craftsmen paid by the job cannot afford a slower daily commute.",
            ],
            "keywords": "Villages, commuters, delivery, craftsmen, time, money.",
            "off_topic": "Preheat the oven to 180 degrees. Mix the flour, the eggs and the sugar, then bake the cake for forty minutes.",
        },
    },
    {
        "id": "en-yard", "language": "en", "question": "Should the old railway yard become a public park?",
        "majority": [
            "Our neighbourhood has no green space at all, we need a park.",
            "Trees would cool the area during the summer heat waves.",
            "Children have nowhere safe to play outside.",
            "A park would bring back birds, insects and wildlife.",
            "Old people need benches and shade close to home.",
            "Green space is good for mental health and stress.",
            "The kids play in the car park because there is no playground.",
            "Concrete everywhere makes the summers unbearable.",
        ],
        "minority": [
            "The city should build affordable housing there, families cannot find homes.",
            "Rents are exploding; a park is a luxury while people are homeless.",
        ],
        "summary": {
            "majority": [
                "Most participants want a park because the neighbourhood lacks green space.",
                "They argue that trees would cool the area during heat waves.",
                "Many say that children have no safe place to play and that old people need shade and benches.",
                "Some add that a park would bring back wildlife and help people's mental health.",
            ],
            "minority": [
                "A minority would rather build affordable housing on the yard, because families cannot find homes and rents are rising.",
            ],
            "minority_extra": [
                "They see a park as a luxury while people are homeless.",
            ],
            "keywords": "Housing, rents, homeless, families, affordable, homes.",
            "off_topic": "The football team won the cup after a penalty shootout. The goalkeeper saved three shots and the fans celebrated all night.",
        },
    },
    {
        "id": "en-phones", "language": "en", "question": "Should the school ban smartphones during the school day?",
        "majority": [
            "Pupils cannot concentrate in class when their phones keep buzzing.",
            "Phones make cyberbullying during breaks much worse.",
            "Children no longer play together at break, they stare at screens.",
            "Teenagers sleep badly because they are on their phones all the time.",
            "Grades improved in schools that banned phones.",
            "My daughter was bullied through group chats during lunch.",
            "Without phones, kids would talk and play with each other again.",
            "Constant notifications destroy attention in lessons.",
        ],
        "minority": [
            "Parents must be able to reach their children in an emergency.",
            "Some pupils use their phones to manage diabetes or other medical conditions.",
        ],
        "summary": {
            "majority": [
                "Most participants favour a ban because phones distract pupils and ruin concentration in class.",
                "They report that phones make cyberbullying worse, especially in group chats.",
                "Many want children to play and talk together at break instead of staring at screens.",
                "Some also mention better sleep and better grades without phones.",
            ],
            "minority": [
                "A few participants oppose a full ban because parents need to reach their children in emergencies and some pupils need phones for medical conditions.",
            ],
            "minority_extra": [
                "They point out that pupils with diabetes rely on their phones to stay healthy.",
            ],
            "keywords": "Emergency, parents, diabetes, medical, reach, children.",
            "off_topic": "The new smartphone has a bigger battery and a brighter screen. It costs nine hundred dollars and comes in three colours.",
        },
    },
    {
        "id": "fr-velo", "language": "fr", "question": "La ville doit-elle créer des pistes cyclables sur les grands boulevards ?",
        "majority": [
            "Les cyclistes risquent leur vie au milieu des voitures sur les boulevards.",
            "Des pistes séparées protégeraient les enfants qui vont à l'école à vélo.",
            "Moins de voitures, c'est moins de pollution et un air plus sain.",
            "Le vélo est bon pour la santé et pour le moral.",
            "J'irais au travail à vélo si je me sentais en sécurité.",
            "Les villes qui ont fait des pistes ont vu les accidents baisser.",
            "Le bruit des voitures sur les boulevards est insupportable.",
            "Les commerces de quartier gagnent des clients quand on circule à vélo.",
        ],
        "minority": [
            "Les artisans et les livreurs ont besoin de leur camionnette et de places pour se garer.",
            "Les personnes âgées qui ne peuvent pas pédaler seront pénalisées par les embouteillages.",
        ],
        "summary": {
            "majority": [
                "La plupart des participants soutiennent les pistes cyclables car les cyclistes risquent leur vie au milieu des voitures.",
                "Ils veulent protéger les enfants qui vont à l'école à vélo et réduire les accidents.",
                "Beaucoup attendent moins de pollution, moins de bruit et un air plus sain.",
                "Certains ajoutent que le vélo est bon pour la santé et que les commerces de quartier y gagnent.",
            ],
            "minority": [
                "Une minorité s'y oppose car les artisans et les livreurs ont besoin de leur camionnette et les personnes âgées souffriraient des embouteillages.",
            ],
            "minority_extra": [
                "Ils rappellent que les livreurs doivent pouvoir se garer près des commerces.",
            ],
            "keywords": "Artisans, livreurs, camionnette, stationnement, embouteillages, âgées.",
            "off_topic": "Préchauffez le four à 180 degrés. Mélangez la farine, les œufs et le sucre, puis faites cuire le gâteau pendant quarante minutes.",
        },
    },
    {
        "id": "fr-portables", "language": "fr", "question": "Faut-il interdire les téléphones portables au collège ?",
        "majority": [
            "Les élèves n'arrivent plus à se concentrer en classe à cause des notifications.",
            "Le harcèlement sur les réseaux sociaux continue pendant les récréations.",
            "Les enfants ne jouent plus ensemble, ils regardent leurs écrans.",
            "Les adolescents dorment mal parce qu'ils sont tout le temps sur leur téléphone.",
            "Les résultats scolaires s'améliorent quand les portables sont interdits.",
            "Ma fille a été harcelée dans un groupe de discussion pendant la cantine.",
            "Sans portable, les élèves se parleraient de nouveau.",
            "Les notifications permanentes détruisent l'attention en cours.",
        ],
        "minority": [
            "Les parents doivent pouvoir joindre leurs enfants en cas d'urgence.",
            "Certains élèves diabétiques utilisent leur téléphone pour surveiller leur santé.",
        ],
        "summary": {
            "majority": [
                "La plupart des participants veulent interdire les portables car ils empêchent les élèves de se concentrer en classe.",
                "Ils estiment que les téléphones aggravent le harcèlement pendant les récréations.",
                "Beaucoup souhaitent que les enfants jouent et se parlent au lieu de regarder des écrans.",
                "Certains évoquent aussi un meilleur sommeil et de meilleurs résultats scolaires.",
            ],
            "minority": [
                "Une minorité s'oppose à l'interdiction car les parents doivent pouvoir joindre leurs enfants en cas d'urgence et certains élèves malades en ont besoin.",
            ],
            "minority_extra": [
                "Ils rappellent que les élèves diabétiques surveillent leur santé avec leur téléphone.",
            ],
            "keywords": "Urgence, parents, diabète, santé, joindre, enfants.",
            "off_topic": "Le nouveau téléphone a une batterie plus grande et un écran plus lumineux. Il coûte neuf cents euros et existe en trois couleurs.",
        },
    },
    {
        "id": "de-tempo", "language": "de", "question": "Soll die Stadt Tempo 30 auf allen Straßen einführen?",
        "majority": [
            "Langsamere Autos bedeuten weniger Tote und Verletzte auf unseren Straßen.",
            "Bei Tempo 30 kann ein Fahrer rechtzeitig bremsen, wenn ein Kind auf die Straße läuft.",
            "Der Verkehrslärm hält meine Familie nachts wach.",
            "Weniger Raserei bedeutet weniger Abgase und sauberere Luft.",
            "Radfahren und Zufußgehen würden endlich sicher.",
            "Ich würde meine Kinder mit dem Rad zur Schule lassen, wenn die Autos langsamer fahren.",
            "Die Hauptstraße ist so laut, dass wir die Fenster nicht öffnen können.",
            "Weniger Unfälle entlasten auch die Krankenhäuser.",
        ],
        "minority": [
            "Pendler aus den Dörfern würden jeden Tag viel Zeit verlieren.",
            "Handwerker und Lieferdienste verlieren Geld, wenn sie langsamer fahren müssen.",
        ],
        "summary": {
            "majority": [
                "Die meisten Teilnehmenden unterstützen Tempo 30, weil langsamere Autos weniger Tote und Verletzte verursachen.",
                "Sie sagen, dass Fahrer rechtzeitig bremsen könnten, wenn Kinder auf die Straße laufen.",
                "Viele klagen über Verkehrslärm in der Nacht und hoffen auf ruhigere Straßen.",
                "Einige erwarten sauberere Luft und sicheres Radfahren und Zufußgehen.",
            ],
            "minority": [
                "Eine kleine Gruppe lehnt Tempo 30 ab, weil Pendler aus den Dörfern sowie Handwerker und Lieferdienste Zeit und Geld verlieren würden.",
            ],
            "minority_extra": [
                "Sie betonen, dass Handwerker pro Auftrag bezahlt werden und sich längere Fahrten nicht leisten können.",
            ],
            "keywords": "Pendler, Dörfer, Handwerker, Lieferdienste, Zeit, Geld.",
            "off_topic": "Den Ofen auf 180 Grad vorheizen. Mehl, Eier und Zucker verrühren und den Kuchen vierzig Minuten lang backen.",
        },
    },
    {
        "id": "de-bahnhof", "language": "de", "question": "Soll das alte Bahngelände ein öffentlicher Park werden?",
        "majority": [
            "Unser Viertel hat überhaupt keine Grünflächen, wir brauchen einen Park.",
            "Bäume würden die Gegend bei Hitzewellen im Sommer kühlen.",
            "Kinder haben keinen sicheren Ort, um draußen zu spielen.",
            "Ein Park würde Vögel, Insekten und Tiere zurückbringen.",
            "Ältere Menschen brauchen Bänke und Schatten in der Nähe.",
            "Grünflächen sind gut für die Gesundheit und gegen Stress.",
            "Die Kinder spielen auf dem Parkplatz, weil es keinen Spielplatz gibt.",
            "Überall Beton macht die Sommer unerträglich.",
        ],
        "minority": [
            "Die Stadt sollte dort bezahlbare Wohnungen bauen, Familien finden kein Zuhause.",
            "Die Mieten explodieren, ein Park ist Luxus, solange Menschen obdachlos sind.",
        ],
        "summary": {
            "majority": [
                "Die meisten Teilnehmenden wollen einen Park, weil dem Viertel Grünflächen fehlen.",
                "Sie meinen, dass Bäume die Gegend bei Hitzewellen kühlen würden.",
                "Viele sagen, dass Kinder keinen sicheren Ort zum Spielen haben und ältere Menschen Bänke und Schatten brauchen.",
                "Einige ergänzen, dass ein Park Tiere zurückbringen und gegen Stress helfen würde.",
            ],
            "minority": [
                "Eine Minderheit möchte auf dem Gelände lieber bezahlbare Wohnungen bauen, weil Familien kein Zuhause finden und die Mieten steigen.",
            ],
            "minority_extra": [
                "Sie halten einen Park für Luxus, solange Menschen obdachlos sind.",
            ],
            "keywords": "Wohnungen, Mieten, obdachlos, Familien, bezahlbar, Zuhause.",
            "off_topic": "Die Fußballmannschaft gewann den Pokal nach einem Elfmeterschießen. Der Torwart hielt drei Schüsse und die Fans feierten die ganze Nacht.",
        },
    },
]


def debate(case: dict) -> dict:
    comments = []
    for group, texts in (("majority", case["majority"]), ("minority", case["minority"])):
        for text in texts:
            n = len(comments) + 1
            comments.append({"id": f"c{n}", "text": text, "author": f"p{n}", "group": group})
    return {"id": case["id"], "question": case["question"], "language": case["language"], "comments": comments}


def candidates(case: dict) -> dict[str, str]:
    s = case["summary"]
    maj, mino = s["majority"], s["minority"]
    return {
        "honest": " ".join(maj + mino),
        "majority_only": " ".join(maj),
        "minority_only": " ".join(mino + s["minority_extra"]),
        "false_balance": " ".join(maj[:2] + mino + s["minority_extra"]),
        "keyword_stuffing": " ".join(maj + [s["keywords"]]),
        "dump": " ".join(case["majority"] + case["minority"]),
        "off_topic": s["off_topic"],
        "empty": "",
    }


CASES = {case["id"]: (debate(case), candidates(case)) for case in _CASES}


# --- synthetic debates with constructed summaries (the development set of the pluralism scorer) ---

SYNTH_HACKS = ("majority_only", "minority_dropped", "minority_flipped", "false_balance", "keyword_stuffing",
               "dump", "repetition", "off_topic", "wrong_language")
_OPPOSITE = {"support": "oppose", "oppose": "support", "conditional": "oppose"}
_CLOSING = {"en": "These views cover the whole debate.", "fr": "Ces avis couvrent tout le débat.",
            "de": "Diese Ansichten decken die ganze Debatte ab."}


def synthetic_candidates(debate: dict, length: int = 7) -> dict[str, str]:
    """An honest summary of a synthetic debate (each group, largest first, in sentences proportional to
    its size: one with its share word, view and first reason, then its other reasons) and the hacks
    that need only the debate (the others, off_topic and wrong_language, come from other debates)."""
    from pluralign.data.synth import _SHARE_WORDS, _VIEWS, _reason, comments_by_group
    from pluralign.rewards.text import content_words

    language, stances = debate["language"], debate["group_stances"]
    sizes: dict[str, int] = {}
    for group in debate["groups"].values():
        sizes[group] = sizes.get(group, 0) + 1
    total = sum(sizes.values())
    order = sorted(sizes, key=lambda g: (-sizes[g], g))
    minority = order[-1]
    reasons = {g: sorted({_reason(t, language) for t in texts}) for g, texts in comments_by_group(debate).items()}

    def block(group: str, n: int, stance: str | None = None) -> list[str]:
        who = next(word for floor, word in _SHARE_WORDS[language] if sizes[group] / total >= floor)
        first = reasons[group][0]
        view = _VIEWS[language][stance or stances[group]]
        return [f"{who} {view}: {first[0].lower()}{first[1:]}"] + reasons[group][1:n]

    n = {g: max(1, round(length * sizes[g] / total)) for g in order}
    majority = [s for g in order if g != minority for s in block(g, n[g])]
    more = [s for g in order if g != minority for s in block(g, n[g] + (g == order[0]))]
    keywords = " ".join(dict.fromkeys(w for r in reasons[minority] for w in content_words(r)))
    return {
        "honest": " ".join(s for g in order for s in block(g, n[g])),
        "majority_only": " ".join(more),
        "minority_dropped": " ".join(majority + [_CLOSING[language]]),
        "minority_flipped": " ".join(majority + block(minority, n[minority], _OPPOSITE[stances[minority]])),
        "false_balance": " ".join(s for g in order for s in block(g, 1)),
        "keyword_stuffing": " ".join(more) + " " + keywords.capitalize() + ".",
        "dump": "\n".join(c["text"] for c in debate["comments"]),
        "repetition": " ".join([block(order[0], 2)[-1]] * 8),
    }


def synthetic_cases(group_sizes: tuple[int, ...], seed: int = 0) -> dict[str, tuple[dict, dict[str, str]]]:
    """Six synthetic debates (two topics x en/fr/de) with an honest summary and SYNTH_HACKS each."""
    from pluralign.data.synth import SynthSpec, synth_debates

    debates = list(synth_debates(SynthSpec(n_debates=6, group_sizes=group_sizes, languages=("en", "fr", "de"), seed=seed)))
    own = {d["id"]: synthetic_candidates(d) for d in debates}
    cases = {}
    for d in debates:
        topic = d["question"]
        other_topic = next(x for x in debates if x["language"] == d["language"] and x["question"] != topic)
        translated = next(x for x in debates if x["language"] != d["language"] and x["id"].rsplit("-", 1)[-1] == d["id"].rsplit("-", 1)[-1])
        cases[d["id"]] = (d, {**own[d["id"]], "off_topic": own[other_topic["id"]]["honest"],
                              "wrong_language": own[translated["id"]]["honest"]})
    return cases
