"""Chinese text for the knowledge base: word segmentation, query plans with synonyms, snippets.

No database here. ``index_terms`` gives the words of an article with their weights (what
``KnowledgeToken`` stores); ``plan_query`` turns what an operator types or a caller says
("社保卡丢了补办") into weighted search words grouped by meaning; ``snippet`` cuts the body
around the first match and marks the matches.

Segmentation is jieba's search mode (whole words and their dictionary sub-words: 公积金 →
公积, 积金, 公积金), loaded once on first use, quietly, with the hotline words of
``synonyms.yaml`` added to its dictionary.

    >>> plan = plan_query("办事大厅几点下班")
    >>> [term.token for term in plan.terms][:3]
    ['办事大厅', '办事', '大厅']
"""

from __future__ import annotations

import html
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

from hotline.knowledge.models import TOKEN_MAX

# Weight of a word in an article, by field; body occurrences count up to BODY_CAP times.
TITLE_WEIGHT = 8
KEYWORD_WEIGHT = 4
BODY_WEIGHT = 1
BODY_CAP = 3

# Weight of a search word in a query: the word itself, one of its synonyms, one of its sub-words.
WORD_WEIGHT = 3
SYNONYM_WEIGHT = 2
PIECE_WEIGHT = 1

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lexicon:
    """Synonym groups, stopwords and extra dictionary words (``synonyms.yaml``)."""

    groups: tuple[frozenset[str], ...]
    stopwords: frozenset[str]
    words: tuple[str, ...]
    not_words: tuple[str, ...] = ()

    def group_of(self, word: str) -> int | None:
        for number, group in enumerate(self.groups):
            if word in group:
                return number
        return None

    def dictionary_words(self) -> list[str]:
        extra = {word for group in self.groups for word in group} | set(self.words)
        return sorted(extra)


def parse_lexicon(data: Any, *, source: str) -> Lexicon:
    """Check and normalise the synonym file's content; a wrong shape says where."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping with groups, stopwords, words")

    def words(value: Any, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            raise ValueError(f"{source}: {where} must be a list of words")
        return [normalize(w).strip() for w in value if w.strip()]

    raw_groups = data.get("groups") or []
    if not isinstance(raw_groups, list):
        raise ValueError(f"{source}: groups must be a list of lists")
    groups = tuple(
        frozenset(words(group, f"groups[{number}]")) for number, group in enumerate(raw_groups)
    )
    return Lexicon(
        groups=groups,
        stopwords=frozenset(words(data.get("stopwords") or [], "stopwords")),
        words=tuple(words(data.get("words") or [], "words")),
        not_words=tuple(words(data.get("not_words") or [], "not_words")),
    )


@cache
def default_lexicon() -> Lexicon:
    text = resources.files("hotline.knowledge").joinpath("synonyms.yaml").read_text("utf-8")
    return parse_lexicon(yaml.safe_load(text), source="hotline/knowledge/synonyms.yaml")


def normalize(text: str) -> str:
    """Full-width to half-width, lower case: ＡＢＣ１２ and abc12 are the same word."""
    return unicodedata.normalize("NFKC", text).lower()


_tokenizer: Any = None
_tokenizer_lock = threading.Lock()


def _import_jieba() -> Any:
    # jieba 0.42 has invalid escape sequences (a DeprecationWarning when its .pyc must be
    # compiled) and may import pkg_resources (deprecated); neither is ours to fix.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=SyntaxWarning)
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        import jieba

    return jieba


def _segmenter() -> Any:
    """jieba's tokenizer with our words, built once; jieba's progress lines are silenced."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                jieba = _import_jieba()
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                lexicon = default_lexicon()
                for word in lexicon.not_words:
                    tokenizer.del_word(word)
                for word in lexicon.dictionary_words():
                    tokenizer.add_word(word)
                _log.debug("knowledge: jieba dictionary loaded")
                _tokenizer = tokenizer
    return _tokenizer


def _keep(token: str, stopwords: frozenset[str]) -> bool:
    return (
        bool(token)
        and len(token) <= TOKEN_MAX
        and token not in stopwords
        and any(char.isalnum() for char in token)
    )


# jieba cuts each run of these characters on its own and skips the rest (its re_han_default),
# so cutting run by run gives the same words, and repeated runs (boilerplate) are cut once.
_RUN = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")


@lru_cache(maxsize=20_000)
def _cut_run(run: str) -> tuple[str, ...]:
    return tuple(_segmenter().cut_for_search(run))


def segment(text: str, *, lexicon: Lexicon | None = None) -> list[str]:
    """Words of ``text`` in search mode (with sub-words), stopwords and punctuation dropped."""
    lexicon = lexicon or default_lexicon()
    runs = _RUN.findall(normalize(text))
    return [t for run in runs for t in _cut_run(run) if _keep(t, lexicon.stopwords)]


def words_of(text: str, *, lexicon: Lexicon | None = None) -> list[str]:
    """Whole words of ``text`` (no sub-words), stopwords and punctuation dropped, in order."""
    lexicon = lexicon or default_lexicon()
    tokens = (t.strip() for t in _segmenter().cut(normalize(text)))
    return list(dict.fromkeys(t for t in tokens if _keep(t, lexicon.stopwords)))


def index_terms(
    *, title: str, keywords: Iterable[str], body: str, lexicon: Lexicon | None = None
) -> dict[str, int]:
    """Each word of an article and its weight: title, keywords and body weights summed."""
    lexicon = lexicon or default_lexicon()
    weights: dict[str, int] = {}
    for token in set(segment(title, lexicon=lexicon)):
        weights[token] = weights.get(token, 0) + TITLE_WEIGHT
    keyword_tokens: set[str] = set()
    for keyword in keywords:
        whole = normalize(keyword).strip()
        if _keep(whole, lexicon.stopwords):
            keyword_tokens.add(whole)
        keyword_tokens.update(segment(keyword, lexicon=lexicon))
    for token in keyword_tokens:
        weights[token] = weights.get(token, 0) + KEYWORD_WEIGHT
    counts: dict[str, int] = {}
    for token in segment(body, lexicon=lexicon):
        counts[token] = counts.get(token, 0) + 1
    for token, count in counts.items():
        weights[token] = weights.get(token, 0) + BODY_WEIGHT * min(count, BODY_CAP)
    return weights


@dataclass(frozen=True)
class QueryTerm:
    token: str
    weight: int  # WORD_WEIGHT, SYNONYM_WEIGHT or PIECE_WEIGHT
    group: int  # which meaning of the query this word stands for


@dataclass(frozen=True)
class QueryPlan:
    """Search words of a query. Each group is one meaning the caller asked about."""

    terms: tuple[QueryTerm, ...]
    groups: int

    def __bool__(self) -> bool:
        return bool(self.terms)

    def weights(self) -> dict[str, int]:
        return {term.token: term.weight for term in self.terms}

    def group_of(self) -> dict[str, int]:
        return {term.token: term.group for term in self.terms}

    def tokens(self) -> list[str]:
        return [term.token for term in self.terms]


def plan_query(query: str, *, lexicon: Lexicon | None = None) -> QueryPlan:
    """Whole words of the query, each with its sub-words and synonyms, grouped by meaning.

    Query words that are synonyms of each other (丢了, 补办) form a single group, so that
    "matches every group" means "matches everything the caller asked about". A word found in
    several roles keeps its highest weight.
    """
    lexicon = lexicon or default_lexicon()
    terms: dict[str, QueryTerm] = {}
    group_numbers: dict[object, int] = {}

    def add(token: str, weight: int, group: int) -> None:
        known = terms.get(token)
        if known is None or known.weight < weight:
            terms[token] = QueryTerm(token, weight, group if known is None else known.group)

    for word in words_of(query, lexicon=lexicon):
        synonym_group = lexicon.group_of(word)
        key: object = ("synonyms", synonym_group) if synonym_group is not None else word
        group = group_numbers.setdefault(key, len(group_numbers))
        add(word, WORD_WEIGHT, group)
        for piece in segment(word, lexicon=lexicon):
            add(piece, PIECE_WEIGHT, group)
        if synonym_group is not None:
            for synonym in sorted(lexicon.groups[synonym_group]):
                add(synonym, SYNONYM_WEIGHT, group)
    return QueryPlan(terms=tuple(terms.values()), groups=len(group_numbers))


def snippet(text: str, tokens: Iterable[str], *, width: int = 80) -> str:
    """About ``width`` characters of ``text`` around the first match, as HTML-escaped text with
    every match wrapped in ``<mark>``; "…" where the text was cut. No match: the beginning."""
    words = sorted({t for t in tokens if t}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None
    first = pattern.search(text) if pattern else None
    start = 0
    if first is not None and len(text) > width:
        start = max(0, min(first.start() - width // 4, len(text) - width))
    end = min(len(text), start + width)
    window = text[start:end]
    parts: list[str] = ["…"] if start > 0 else []
    position = 0
    for match in pattern.finditer(window) if pattern else ():
        parts.append(html.escape(window[position : match.start()]))
        parts.append(f"<mark>{html.escape(match.group())}</mark>")
        position = match.end()
    parts.append(html.escape(window[position:]))
    if end < len(text):
        parts.append("…")
    return "".join(parts).replace("</mark><mark>", "")
