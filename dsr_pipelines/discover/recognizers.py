"""Presidio, configured to run offline: pattern recognizers, a blank spaCy pipeline, no downloads.

`build_analyzer` loads Presidio's predefined recognizers for English, keeps the country-specific
ones only for the countries the user enables (a UK NHS number check fires on US phone numbers),
swaps in an email recognizer whose domain check uses tldextract's bundled suffix list instead
of fetching it, and adds the user's own pattern recognizers from YAML. A named-entity model is
optional: without one, person names are found from column names and value shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import spacy
import tldextract
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..core.errors import ConfigError
from ..core.yamlfile import read_yaml, validated
from .phones import as_regions

LANGUAGE = "en"

# Presidio entity -> datamap category. Entities not listed are ignored (discovery reads UUID
# as the mark of a technical column).
ENTITY_CATEGORIES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ip_address",
    "PERSON": "name",
    "LOCATION": "address",
    "US_SSN": "national_id",
    "US_ITIN": "national_id",
    "US_PASSPORT": "national_id",
    "UK_NHS": "national_id",
    "UK_NINO": "national_id",
    "UK_PASSPORT": "national_id",
    "ES_NIF": "national_id",
    "ES_NIE": "national_id",
    "IT_FISCAL_CODE": "national_id",
    "PL_PESEL": "national_id",
    "SG_NRIC_FIN": "national_id",
    "AU_TFN": "national_id",
    "AU_MEDICARE": "national_id",
    "IN_PAN": "national_id",
    "IN_AADHAAR": "national_id",
    "FI_PERSONAL_IDENTITY_CODE": "national_id",
    "KR_RRN": "national_id",
    "TH_TNIN": "national_id",
    "DATE_TIME": "date",
}

# The shapes values need to be worth Presidio's time, checked by pyarrow on a whole column first.
# A phone match is kept only with nine digits or more (discovery's shape check), so a value without
# seven digits at most three separators apart has none; phonenumbers' matcher is the costliest
# recognizer by far. Every other predefined pattern needs a digit, an @ or a colon (IPv6).
PHONE_ENTITY = "PHONE_NUMBER"
PHONE_SHAPE = r"\d(?:[^\d\pL]{0,3}\d){6}"
PREDEFINED_SHAPE = r"[0-9@:]"

# Weak patterns (any 8-17 digits is a "bank number" at 0.05) drown real signals; left out.
_NOISY = {"UsBankRecognizer", "UsLicenseRecognizer", "MedicalLicenseRecognizer", "UrlRecognizer"}


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer with a domain check that never touches the network."""

    # No suffix-list URLs and no cache directory: tldextract uses the snapshot it ships with.
    _extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def validate_result(self, pattern_text: str) -> bool:
        return self._extract(pattern_text).fqdn != ""


class ColumnContextEnhancer(ContextAwareEnhancer):
    """Raise a match's score when its recognizer's context words are in the column's name.

    Discovery analyses many values of one column in one call, so the words around a match
    belong to other values; the column name is the context. (Presidio's lemma enhancer also
    scans the tokens around every match, which is quadratic in a joined text.)
    """

    def __init__(self) -> None:
        super().__init__(
            context_similarity_factor=0.35,
            min_score_with_context_similarity=0.4,
            context_prefix_count=0,
            context_suffix_count=0,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        words = {w.lower() for w in context or ()}
        if not words:
            return raw_results
        by_id = {r.id: r for r in recognizers}
        for result in raw_results:
            meta = result.recognition_metadata or {}
            recognizer = by_id.get(meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if recognizer is None or not words & {w.lower() for w in recognizer.context or ()}:
                continue
            result.score = min(
                self.MAX_SCORE,
                max(result.score + self.context_similarity_factor, self.min_score_with_context_similarity),
            )
        return raw_results


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """No NLP without a model (patterns need none); a named-entity model only when installed."""

    def __init__(self, model: str | None = None):
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": model or "blank"}])
        self.model = model

    def load(self) -> None:
        if self.model is None:
            self.nlp = {LANGUAGE: spacy.blank(LANGUAGE)}
            return
        if not spacy.util.is_package(self.model) and not Path(self.model).exists():
            # SpacyNlpEngine would download it; this project never downloads at run time.
            raise ConfigError(
                f"discovery.ner_model: spaCy model {self.model!r} is not installed "
                "(install it into the environment, or remove ner_model to use patterns only)"
            )
        self.nlp = {LANGUAGE: spacy.load(self.model)}

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        if self.model is not None:
            return super().process_text(text, language)
        # Without a model nothing reads tokens: pattern recognizers match the text, and context
        # comes from the column's name (ColumnContextEnhancer). Tokenising and lemmatising every
        # joined chunk cost a fifth of the analysis.
        return NlpArtifacts(
            entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self, language=language
        )


class CustomRecognizer(BaseModel):
    """A user's pattern recognizer: what it is called, what it matches, and what it means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
    category: str | None = Field(None, description="datamap category to propose (default: name)")
    regex: str
    score: float = Field(0.6, gt=0, le=1)
    context: list[str] = []
    identity: bool = Field(False, description="propose the field as an identity lookups can start from")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc.msg})") from None
        return value

    @property
    def entity(self) -> str:
        return f"CUSTOM_{self.name.upper()}"

    def recognizer(self) -> PatternRecognizer:
        return PatternRecognizer(
            supported_entity=self.entity,
            name=self.name,
            patterns=[Pattern(self.name, self.regex, self.score)],
            context=self.context,
            supported_language=LANGUAGE,
        )


class _RecognizerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recognizers: list[CustomRecognizer] = []


def load_custom_recognizers(path: Path) -> list[CustomRecognizer]:
    if not path.is_file():
        raise ConfigError(f"discovery.recognizers: no file at {path}")
    return validated(_RecognizerFile, read_yaml(path, ConfigError), str(path), ConfigError).recognizers


@dataclass
class Analyzer:
    """An `AnalyzerEngine` and what its entities mean as datamap categories."""

    engine: AnalyzerEngine
    categories: dict[str, str]
    identities: frozenset[str]  # categories proposed as identities when a column is mostly unique
    named_entities: bool
    other_shape: str | None = None  # what a value needs for an entity other than a phone (None: any)
    phone_regions: tuple[str, ...] = ("US",)  # where a number without a country code is parsed
    prefilter: bool = True  # False: every value to every recognizer (tests and bench/ compare)

    @cached_property
    def passes(self) -> list[tuple[list[str], str | None]]:
        """The analyzer's passes over a column: the entities asked for, and the shape (an RE2
        pattern for pyarrow) a value must have to be sent at all."""
        if not self.prefilter:
            return [(self.entities, None)]
        others = [e for e in self.entities if e != PHONE_ENTITY]
        phones = [e for e in self.entities if e == PHONE_ENTITY]
        return [
            (entities, shape)
            for entities, shape in ((others, self.other_shape), (phones, PHONE_SHAPE))
            if entities
        ]

    @cached_property
    def entities(self) -> list[str]:
        """The entities to ask for: those with a category (or UUID) that a loaded recognizer finds."""
        wanted = {*self.categories, "UUID"}
        return sorted(e for e in self.engine.get_supported_entities(LANGUAGE) if e in wanted)


def build_analyzer(
    countries: list[str],
    custom: list[CustomRecognizer] = (),
    phone_regions: list[str] = (),
    ner_model: str | None = None,
) -> Analyzer:
    nlp = BlankSpacyNlpEngine(ner_model)
    nlp.load()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    codes = sorted({"uk" if c.lower() == "gb" else c.lower() for c in countries})
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp, countries=codes)
    for name in sorted(_NOISY | {"EmailRecognizer", "PhoneRecognizer"}):
        registry.remove_recognizer(name)
    if ner_model is None:
        registry.remove_recognizer("SpacyRecognizer")  # a blank pipeline finds no entities
    registry.add_recognizer(OfflineEmailRecognizer())
    regions = as_regions(phone_regions or countries or ["US"])
    # Leniency 0 (possible, not only valid, numbers): reserved fictional ranges such as
    # 07700 900xxx are still phone numbers; unformatted digit ids are ruled out by discovery.
    registry.add_recognizer(PhoneRecognizer(supported_regions=tuple(regions), leniency=0))
    categories = dict(ENTITY_CATEGORIES)
    identities = {"email", "phone"}
    for rec in custom:
        registry.add_recognizer(rec.recognizer())
        categories[rec.entity] = rec.category or rec.name
        if rec.identity:
            identities.add(rec.category or rec.name)
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp,
        supported_languages=[LANGUAGE],
        context_aware_enhancer=ColumnContextEnhancer(),
    )
    # A named-entity model finds names in any text; a user's pattern joins the shape if RE2 takes it.
    other = None if ner_model else re2_union([PREDEFINED_SHAPE, *(rec.regex for rec in custom)])
    return Analyzer(engine, categories, frozenset(identities), ner_model is not None, other, tuple(regions))


def re2_union(patterns: list[str]) -> str | None:
    """The patterns as one RE2 alternation, or None when one is not RE2 (a look-behind, say)."""
    union = "|".join(f"(?:{p})" for p in patterns)
    try:
        pc.match_substring_regex(pa.array([""]), union)
    except pa.ArrowInvalid:
        return None
    return union
