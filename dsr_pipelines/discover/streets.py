"""Street lines in many languages: `Obere Str. 57`, `24, place Kléber`, `Av. dos Lusíadas, 23`.

No maintained address parser fits offline without a model (libpostal needs a 2 GB model; usaddress
knows only US lines). Street lines share a small grammar, though: a house number before or after
the street's name, and often a street word (`Straße`, `rue`, `Calle`, `ul.`), written alone or
as the end of one word (`Tiergartenstraße`, `Åkergatan`, `Hatlevegen`). The patterns are RE2, so
pyarrow checks a whole column at once; a value of several lines counts if one line does.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# Street words and abbreviations, standing alone. By language, roughly: English; French; Spanish;
# Portuguese; Italian; German and Dutch; Nordic; Polish, Czech, Hungarian, Romanian; Russian;
# Turkish; Greek; Asian romanisations; units and boxes.
_WORDS = (
    "street|road|rd|avenue|ave|av\\.|blvd|boulevard|bd\\.|lane|drive|court|place|plaza|"
    "square|sq|terrace|way|circus|crescent|cres|close|gardens|parade|hill|highway|hwy|parkway|"
    "pkwy|loop|row|walk|alley|mews|wharf|quay|"
    "rue|chemin|allée|allee|impasse|quai|route|cours|chaussée|chaussee|faubourg|"
    "calle|c/|avda|avenida|vía|piso|paseo|carrera|rambla|camino|carretera|travesía|ronda|glorieta|"
    "rua|travessa|praça|praca|largo|estrada|alameda|jardim|"
    "via|viale|piazza|piazzale|corso|vicolo|strada|contrada|"
    "str|straße|strasse|gasse|platz|allee|ring|damm|ufer|weg|straat|laan|plein|gracht|kade|"
    "gata|gatan|gate|gaten|vägen|vagen|väg|veien|vegen|vei|vej|gade|katu|tie|"
    "ul|ulica|al\\.|aleja|os\\.|osiedle|ulice|nám|náměstí|utca|út|tér|bulevardul|"
    "ул|улица|пр|проспект|пер|переулок|шоссе|"
    "cad|caddesi|sok|sokak|mah|mahallesi|bulvarı|"
    "οδός|λεωφόρος|"
    "chome|dori|jalan|jl|soi|thanon|marg|lorong|"
    "apt|apartment|suite|ste|unit|flat|floor|p\\.?\\s?o\\.?\\s?box|postfach|apartado"
)
# Street words that also end a longer word: Tiergartenstraße, Hauptstr., Walserweg, Åkergatan.
_SUFFIXES = (
    "straße|strasse|str|gasse|weg|platz|allee|damm|ufer|straat|laan|plein|gracht|"
    "gata|gatan|vägen|vagen|veien|vegen|vej|gade|bakken|katu|tie|utca|dori|dōri"
)
# Abbreviations that also stand for titles (Dr. Pepper, St. Mary): street words only after a name
# or a number (`Baker St`, `97 St NW`).
_AFTER_NAME = "st|dr|ct|pl|sq|ln"
_EDGE, _END = r"(^|[^\pL\pN])", r"($|[^\pL\pN])"  # RE2's \b knows only ASCII letters

STREET_WORD = (
    rf"(?im){_EDGE}({_WORDS})\.?{_END}|\pL\pL({_SUFFIXES})\.?{_END}|[\pL\pN][.'’]?\s+({_AFTER_NAME})\.?{_END}"
)
# `120 Hanover Sq.`, `24, place Kléber`, `7,Park Street`, `507 - 20th Ave.`, `9-8 Sekimai`
NUMBER_FIRST = r"(?im)^\s*(no\.?\s*)?\d{1,6}\pL?(\s*[-/]\s*\d{1,5}\pL?){0,3}(\s*,\s*|\s+)(-\s+)?[\pL\pN]"
# `Obere Str. 57`, `C/ Araquil, 67`, `Jardim das rosas n. 32`, `Av. das Americanas 12.890`, `Frahmredder 112a`
NUMBER_LAST = (
    r"(?im)^\pL[\pL\pN\s.'’/-]*[\pL.],?\s+(n[º°o]?[.:]?\s*|#\s*)?\d{1,6}\pL?(\s*[-/.]\s*\d{1,5}\pL?)?"
    r"(\s|,|$)"
)


MAX_LINE = 200  # characters: a longer value is prose, never a street line (and costly to match)


def _signals(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Per value: (a house number before or after a name, a street word)."""
    short = pc.less_equal(pc.utf8_length(values), MAX_LINE)
    # Long values are blanked, not matched; RE2's \s leaves out the no-break space that addresses
    # copied from documents often hold.
    text = pc.replace_substring_regex(pc.if_else(short, values, ""), r"[\pZ\t]+", " ")
    first, last = (pc.match_substring_regex(text, p) for p in (NUMBER_FIRST, NUMBER_LAST))
    numbered = pc.or_(first, last)
    return numbered, pc.match_substring_regex(text, STREET_WORD)


def street_like(values: pa.Array) -> pa.Array:
    """Per value: a street line by shape alone (a number before or after words, or a street word).
    Enough where the column's name says address."""
    return pc.or_(*_signals(values))


def street_line(values: pa.Array) -> pa.Array:
    """Per value: a street line on its own evidence (a street word and a house number), for a
    column whose name says nothing."""
    return pc.and_(*_signals(values))
