"""Extractive text tools: choose sentences that are already there instead of writing new ones.

    split_sentences(text)                        -> list[str]
    centrality(vectors)                          -> (N,) how typical each sentence is
    mmr(vectors, k, relevance=None)              -> k indices: relevant and not redundant
    select_sentences(vectors, k)                 -> k indices in reading order (a summary)
    keyphrases(text, background, k)              -> phrases frequent here and rare elsewhere (titles)
    lexical_scores(query, texts)                 -> (N,) BM25 scores (exact words, numbers, codes)

The lite stack's 135M model invents facts when asked to write summaries or titles
(``benchmarks/lite.py`` measures it), so summaries are built from transcript sentences
picked here, and chapter titles from phrases that occur in the chapter.  Every output
is traceable to the input text by construction.

Pure NumPy over unit-length sentence vectors ``(N, D)`` (e.g. from
:mod:`vidq.models.lite.embed`); knows nothing about models, video, tasks or the CLI.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Common English function words (and filler), never the whole of a keyphrase's ends.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't could did didn't do does doesn't doing don't down during each even every few for
from further get gets got had has have having he her here hers herself him himself his how however i if in into
is isn't it it's its itself just let's like made make many may me more most much must my myself no nor not now
of off on once one only or other ought our ours ourselves out over own per quite rather really said same say says
she should so some such than that that's the their theirs them themselves then there there's these they this
those through to too two under until up upon us use used very via was wasn't we well were what when where which
while who whom why will with within without would yes yet you your yours yourself yourselves okay oh uh um yeah
thing things way ways lot lots today now also first second next just going go know think see look right
finally beneath welcome another little almost
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def split_sentences(text: str) -> list[str]:
    """Split running text at sentence ends (., !, ? followed by a capital or digit)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, inner apostrophes)."""
    return _WORD.findall(text.lower())


def centrality(vectors: np.ndarray) -> np.ndarray:
    """Mean cosine similarity of each row to all rows, ``(N,)`` float32.

    For unit rows this is each row's dot product with the mean vector (LexRank's degree
    centrality without a threshold), so it costs O(N * D).
    """
    v = np.asarray(vectors, np.float32)
    if v.shape[0] == 0:
        return np.zeros(0, np.float32)
    return v @ v.mean(axis=0)


def mmr(vectors: np.ndarray, k: int, *, relevance: np.ndarray | None = None, diversity: float = 0.3) -> list[int]:
    """Maximal marginal relevance: ``k`` row indices, greedily, in the order chosen.

    Each step takes the row maximising ``(1 - diversity) * relevance - diversity * max
    similarity to the rows already chosen``.  ``relevance`` ``(N,)`` defaults to
    :func:`centrality` (a generic summary); pass similarities to a query for a focused one.
    """
    v = np.asarray(vectors, np.float32)
    n = v.shape[0]
    k = min(k, n)
    if k <= 0:
        return []
    rel = centrality(v) if relevance is None else np.asarray(relevance, np.float32)
    if rel.shape != (n,):
        raise ValueError(f"relevance has shape {rel.shape}, expected ({n},)")
    chosen: list[int] = []
    max_sim = np.full(n, -np.inf, np.float32)
    available = np.ones(n, bool)
    for _ in range(k):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        score = (1 - diversity) * rel - diversity * penalty
        score[~available] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        available[best] = False
        max_sim = np.maximum(max_sim, v @ v[best])
    return chosen


def select_sentences(vectors: np.ndarray, k: int, *, relevance: np.ndarray | None = None,
                     diversity: float = 0.3) -> list[int]:
    """:func:`mmr` indices sorted back into reading order: an extractive summary of ``k`` rows."""
    return sorted(mmr(vectors, k, relevance=relevance, diversity=diversity))


_CLAUSE = re.compile(r"[.!?;:,()\"\u2014]+|\s-\s")
_LINKS = frozenset({"of", "de"})  # stopwords allowed inside a phrase ("ring of fire")


def stem(word: str) -> str:
    """A light plural/possessive stem, for counting "lighthouse", "lighthouses" and
    "lighthouse's" as one word."""
    word = word.removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _ngrams(text: str, max_words: int) -> list[tuple[str, ...]]:
    """Stemmed n-grams inside clauses; no stopword at either end, none inside but "of"/"and"."""
    out = []
    for clause in _CLAUSE.split(text):
        tokens = words(clause)
        for n in range(1, max_words + 1):
            for i in range(len(tokens) - n + 1):
                gram = tokens[i:i + n]
                if gram[0] in STOPWORDS or gram[-1] in STOPWORDS or gram[0][0].isdigit():
                    continue
                if any(w in STOPWORDS and w not in _LINKS for w in gram[1:-1]):
                    continue
                if n == 1 and len(gram[0]) < 3:
                    continue
                out.append(tuple(stem(w) for w in gram))
    return out


def keyphrases(text: str, background: Sequence[str] = (), k: int = 3, *, max_words: int = 3) -> list[str]:
    """Phrases of up to ``max_words`` words that are frequent in ``text`` and rare in ``background``.

    Scores are TF-IDF over 1..max_words-grams of (plural-stemmed) words inside clauses,
    document frequency from ``background`` (e.g. the other chapters); repeated phrases get
    a bonus per word and phrases said once a penalty, so frequent terms win; a high-scoring word
    or phrase is replaced by a longer phrase containing it that occurs at least twice and
    in at least 40% of its occurrences; ties go to the phrase said first.  A phrase never
    starts with a number or starts or ends with a stopword, and phrases inside a better one
    are skipped.  Returned as they
    are written in ``text`` (first occurrence), best first.
    """
    found = _ngrams(text, max_words)
    grams = Counter(found)
    if not grams:
        return []
    first = {}
    for pos, gram in enumerate(found):
        first.setdefault(gram, pos)
    docs = [set(_ngrams(b, max_words)) for b in background]
    n_docs = len(docs) + 1
    scored = []
    for gram, tf in grams.items():
        df = 1 + sum(gram in d for d in docs)
        idf = math.log((n_docs + 1) / df) + 1.0
        # a repeated phrase beats its words; a phrase said once is only as good as a word said once
        length_bonus = 1.0 + 0.5 * (len(gram) - 1) if tf >= 2 else 1.0 / len(gram)
        scored.append((tf * idf * length_bonus, len(gram), gram))
    scored.sort(key=lambda s: (-s[0], -s[1], first[s[2]]))  # ties: the earlier in the text
    rank = {gram: i for i, (_, _, gram) in enumerate(scored)}
    picked: list[tuple[str, ...]] = []
    for _, _, gram in scored:
        # "glass" said 5 times, 2 of them in "glass blower": the phrase is the better title
        longer = [g for g in grams if len(g) > len(gram) and grams[g] >= max(2, 0.4 * grams[gram])
                  and _contains(g, gram)]
        if longer:
            gram = min(longer, key=lambda g: (-grams[g], rank[g]))
        if any(_contains(p, gram) or _contains(gram, p) for p in picked):
            continue
        picked.append(gram)
        if len(picked) == k:
            break
    return [_as_written(text, g) for g in picked]


def _contains(big: tuple[str, ...], small: tuple[str, ...]) -> bool:
    n = len(small)
    return any(big[i:i + n] == small for i in range(len(big) - n + 1))


def _as_written(text: str, gram: tuple[str, ...]) -> str:
    """The first place in ``text`` where the stemmed ``gram`` occurs, as written there."""
    for clause in _CLAUSE.split(text):
        found = list(re.finditer(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?", clause))
        stems = [stem(m.group(0).lower()) for m in found]
        for i in range(len(stems) - len(gram) + 1):
            if tuple(stems[i:i + len(gram)]) == gram:
                return clause[found[i].start():found[i + len(gram) - 1].end()]
    return " ".join(gram)


def title_from_phrases(phrases: Sequence[str], *, max_phrases: int = 2) -> str:
    """A chapter title from keyphrases: the first ones, capitalised, joined with " and "."""
    chosen = [p for p in phrases if p][:max_phrases]
    if not chosen:
        return ""
    title = " and ".join(chosen)
    return title[0].upper() + title[1:]


def lexical_scores(query: str, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 score of every text for the query's words, ``(N,)`` float64 (0 where none occur).

    Complements embeddings for exact tokens such as numbers, codes and names.
    """
    q = [w for w in dict.fromkeys(words(query)) if w not in STOPWORDS] or list(dict.fromkeys(words(query)))
    docs = [words(t) for t in texts]
    n = len(docs)
    out = np.zeros(n, np.float64)
    if n == 0 or not q:
        return out
    avg = sum(len(d) for d in docs) / n or 1.0
    counts = [Counter(d) for d in docs]
    for term in q:
        df = sum(1 for c in counts if term in c)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, c in enumerate(counts):
            tf = c.get(term, 0)
            if tf:
                out[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(docs[i]) / avg))
    return out
