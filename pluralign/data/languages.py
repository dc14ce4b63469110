"""Language codes as options take them (`--language`, `--target-language`): ISO 639-1, with an
optional region or script subtag (`zh-tw`, `pt-BR`), or `und` (undetermined)."""

from __future__ import annotations

import re

from pluralign.errors import UsageError

ISO_639_1 = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz
ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii
ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi
mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw
sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk
ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())
CODE = re.compile(r"^([a-z]{2,3})(-[a-z0-9]{2,8})*$")


def check_language(code: str, option: str = "--language") -> str:
    """`code` lowercased, or a UsageError saying what a language code looks like."""
    lowered = str(code).strip().lower()
    match = CODE.match(lowered)
    if not match or not (match.group(1) in ISO_639_1 or lowered == "und"):
        raise UsageError(f"{option} {code!r} is not a language code; give an ISO 639-1 code such as en, fr, de, "
                         "es or zh-tw (or leave it out to detect the language)")
    return lowered
