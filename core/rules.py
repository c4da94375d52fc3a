"""The interpreter of the plan's rules: complaint classification (SPEC §4.2).

Pure and explainable: no model, no network. The plan file gives each task area a table of cue
phrases with weights, plus one table for out-of-scope messages; :class:`Classifier` compiles
them once and :meth:`Classifier.classify` scores a text by adding up the weights of the cues it
finds. The citizen sees the cues that decided it.

Cue syntax (a key of an ``[areas.cues]`` or ``[out_of_scope.cues]`` table; the value is its
weight)
----------------------------------------------------------------------------------------------
``推诿``
    Chinese (any phrase with a non-ASCII character): found anywhere in the normalised text, also
    across commas and spaces (``门难进、脸难看`` matches ``门难进脸难看``), never across the end of
    a sentence.
``rude`` / ``pass* the buck`` / ``12315``
    ASCII: whole words, case-insensitive. A trailing ``*`` on a word matches any word that
    starts with it (``bribe*`` matches bribe, bribes, bribery, bribed).
``=好的`` / ``=ok``
    A leading ``=``: the whole message is this phrase (sentence marks aside). For replies such
    as 好的 or ok that mean nothing inside a longer complaint (说好的一周给回复).
``态度…差`` / ``refus*…receipt``
    Terms joined by ``…`` (or ``...``): each term must follow the previous one within a short
    gap in the same sentence: at most :data:`GAP_CHARS` characters before a Chinese term, at
    most :data:`GAP_WORDS` words before an English one.
weight > 0
    Evidence for the area (or, in the out-of-scope table, for "not a complaint for us").
weight < 0
    Evidence against it. In the out-of-scope table a negative weight marks government-service
    context (窗口, 执法, 审批, official, permit …): such words argue that the message *is* about
    government service, and with none of them present the out-of-scope side starts with
    ``no_context_prior`` points.

Negation: a positive cue is ignored when a negator governs it: 不 / 没有 / 未 / 从不 / 并非 …
(not / no / never / without …) among the last few words before it in the same clause, with no
``就`` / ``但`` / ``but`` … in between, or inside one of its ``…`` gaps. ``没有收红包``, ``态度一
点也不差`` and ``was not rude`` therefore count nothing, while a negator written into the cue
itself (``不开票``, ``no receipt``) is part of the phrase. Word segmentation (jieba) is used only
here, and only when a negator character is near, so that 不动产, 没收 or 不但 are not taken for
negations. Negative weights are never negated: context stays context.

Scoring and confidence
----------------------
A table's score is the sum of its matched positive weights plus its single strongest negative
match (counter-cues state one fact, such as "this is about government service", so they do not
pile up); an area's score is floored at 0. The out-of-scope score also gets ``no_context_prior``
when no government context was found. A cue counts once however often it occurs, and a match
lying inside a longer match of the same table adds nothing (``推诿`` inside ``推诿扯皮``), so a
specific phrase can carry its own weight without double counting.

The best area wins when it has positive evidence and beats the out-of-scope score; otherwise the
text is out of scope (``area is None``). The confidence is the winner's share of a softmax over
the six scores (five areas and out-of-scope) at ``temperature``: it grows with the margin over
the runner-up *and* with the absolute evidence, because classes without evidence still hold
e^0 each. One 2-point cue with government context gives about 0.6; a 3-point cue about 0.8.
Below the plan's threshold (or when the best two shares are closer than ``min_margin``) the
citizen picks the area.

Normalisation: NFKC (full-width → half-width), case folding, common traditional characters →
simplified, control and format characters dropped, punctuation reduced to clause and sentence
boundaries, spaces kept only between ASCII words. Only the first :data:`MAX_CHARS` characters
are read (a Telegram message holds at most 4,096).
"""

from __future__ import annotations

import bisect
import logging
import math
import operator
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Final

__all__ = [
    "GAP_CHARS",
    "GAP_WORDS",
    "MAX_CHARS",
    "OUT_OF_SCOPE",
    "Classification",
    "Classifier",
    "CueSyntaxError",
    "normalise",
    "parse_cue",
]

OUT_OF_SCOPE: Final = "out_of_scope"
"""The key of the out-of-scope score in :attr:`Classification.scores`."""

MAX_CHARS: Final = 10_000
GAP_CHARS: Final = 10
GAP_WORDS: Final = 5

_SENTENCE: Final = "|"  # sentence boundary in normalised text; no cue can contain it
_CUE_JOINER = re.compile(r"\s*(?:…|\.\.\.)\s*")
_ASCII_WORD = re.compile(r"[a-z0-9]+")

# Negation. Tokens as jieba (HMM off) cuts them; a few merged forms are listed in case a
# dictionary update joins them.
_NEGATORS_ZH: Final = frozenset(
    {
        "不", "没", "没有", "未", "未曾", "无", "并未", "从未", "从不", "从没", "从没有", "从来不",
        "从来没", "从来没有", "并没有", "并没", "并不", "不曾", "绝不", "决不", "绝没有", "别",
        "不是", "并非", "毫不", "也不", "都不", "也没", "也没有", "都没有", "都没", "冒得", "没得",
    }
)  # fmt: skip
_NEGATOR_CHARS: Final = frozenset("不没未无非别毫冒")  # 冒得: 没有 in Hunan speech
_BREAKERS_ZH: Final = frozenset(
    {
        "就", "才", "但", "但是", "却", "可", "可是", "而", "而是", "然后", "还", "反而", "只是",
        "就是", "结果", "竟然", "居然", "倒", "倒是", "又",
    }
)  # fmt: skip
_NEGATORS_EN: Final = frozenset(
    {"not", "no", "never", "without", "nobody", "neither", "nor", "hardly", "cannot"}
)
_BREAKERS_EN: Final = frozenset({"but", "then", "yet", "although", "though", "however", "instead"})
_PREFIX_TOKENS: Final = 4  # how far back a negator reaches, in words
_PREFIX_CHARS: Final = 10

_TRADITIONAL = (  # traditional, simplified: pairs of characters
    "辦办難难臉脸門门態态費费錢钱紅红給给會会說说話话個个來来們们這这還还沒没讓让證证據据罰罚"
    "執执審审報报號号處处廳厅員员區区縣县鎮镇鄉乡場场東东車车務务開开關关長长發发補补貼贴資资"
    "專专項项撥拨標标內内權权職职與与為为氣气麼么嗎吗聽听樣样問问題题應应對对時时間间後后現现"
    "實实經经過过進进邊边當当從从聯联絡络係系戶户頭头擺摆顏颜懶懒遲迟僅仅導导檢检驗验單单貨货"
    "攤摊搶抢強强闖闯濫滥飯饭禮礼購购煙烟賄贿賂赂賺赚貪贪虛虚領领騙骗親亲屬属環环節节續续雜杂"
    "瑣琐檻槛設设規规則则範范準准傳传釋释幹干書书記记議议電电無无聲声罵骂兇凶線线網网買买賣卖"
    "樓楼鄰邻業业寵宠謝谢測测試试請请總总結结輛辆劃划營营許许計计財财稅税價价醫医療疗學学齊齐"
    "觀观廣广萬万幾几歡欢樂乐鐘钟館馆鋪铺斷断謀谋腦脑蓋盖簽签歸归辭辞輸输陳陈舊旧統统變变讀读"
    "寫写辯辩論论認认識识該该種种類类觸触極极產产倆俩鬧闹擊击傷伤憑凭懲惩戲戏罷罢幫帮慣惯夥伙"
    "隊队軍军惡恶壞坏啟启託托鑑鉴麵面雲云勢势礙碍塊块筆笔額额協协調调衝冲擾扰噸吨積积廢废愛爱"
    "輕轻聞闻憂忧慮虑險险稱称紀纪庫库餘余滿满達达違违遞递選选遠远連连適适錄录鎖锁閒闲闆板隨随"
    "雙双雖虽雞鸡離离頁页順顺願愿飲饮養养體体髒脏鬥斗魚鱼鳥鸟麥麦黨党齡龄龍龙擔担擠挤攔拦擋挡"
    "擴扩揮挥損损換换掃扫採采掛挂揚扬撫抚撲扑"
)
_T2S: Final = {ord(_TRADITIONAL[i]): _TRADITIONAL[i + 1] for i in range(0, len(_TRADITIONAL) - 1, 2)}

_logger = logging.getLogger(__name__)


class CueSyntaxError(ValueError):
    """A cue phrase or weight the classifier cannot use. ``cue`` names it, ``reason`` says why,
    so the plan loader can report file, key and reason."""

    def __init__(self, cue: str, reason: str) -> None:
        self.cue = cue
        self.reason = reason
        super().__init__(f"cue {cue!r}: {reason}")


# ---------------------------------------------------------------------------------------------
# Normalisation


@dataclass(frozen=True, slots=True)
class _Text:
    """A normalised text: ``text`` without clause punctuation, and where its clauses begin
    (negation never reaches across a comma)."""

    text: str
    clause_starts: tuple[int, ...]

    def clause_start(self, pos: int) -> int:
        return self.clause_starts[bisect.bisect_right(self.clause_starts, pos) - 1]


_CONTRACTION = re.compile(r"n['’]t\b")
_APOSTROPHE = re.compile(r"['’]s\b|['’]")
_FULL_STOP = re.compile(r"(?<!\d)\.|\.(?!\d)")  # a full stop, but not a decimal point
_SENTENCE_ENDS: Final = frozenset("。!?;\n\r\u2029\u2028｡")


@lru_cache(maxsize=4096)
def _char_kind(ch: str) -> int:
    """0 keep, 1 clause boundary, 2 sentence boundary, 3 drop, 4 space."""
    if ch in _SENTENCE_ENDS or ch == _SENTENCE:
        return 2
    if ch == ".":  # full stops became 。 already: what is left is a decimal point
        return 0
    if ch.isspace():
        return 4
    category = unicodedata.category(ch)
    if category[0] in "PSZ":
        return 1
    if category[0] == "C":  # controls, format characters, surrogates, private use
        return 3
    return 0


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()  # False for ""


_RUNS = re.compile(r"((?:[^\w.]|_)+)")  # splits words (and decimal points) from the rest


def _prepare(raw: str) -> _Text:
    text = unicodedata.normalize("NFKC", raw[:MAX_CHARS]).casefold().translate(_T2S)
    text = _CONTRACTION.sub(" not", text)
    text = _APOSTROPHE.sub("", text)
    text = _FULL_STOP.sub("。", text)
    out: list[str] = []
    size = 0  # characters in out
    last = ""  # the last character kept
    starts = [0]
    gap = False  # whitespace or clause punctuation seen since the last kept character
    # Runs of word characters are copied whole; only the characters between them are looked
    # at one by one.
    for index, piece in enumerate(_RUNS.split(text)):
        if not index % 2:
            if piece:
                if gap and _is_ascii_alnum(last) and _is_ascii_alnum(piece[0]):
                    out.append(" ")
                    size += 1
                out.append(piece)
                size += len(piece)
                last = piece[-1]
                gap = False
            continue
        for ch in piece:
            kind = _char_kind(ch)
            if kind == 0:  # e.g. a combining mark
                if gap and _is_ascii_alnum(last) and _is_ascii_alnum(ch):
                    out.append(" ")
                    size += 1
                out.append(ch)
                size += 1
                last = ch
                gap = False
            elif kind == 2:
                if size and last != _SENTENCE:
                    out.append(_SENTENCE)
                    size += 1
                    last = _SENTENCE
                    starts.append(size)
                gap = False
            elif kind == 1:
                if size and starts[-1] != size:
                    starts.append(size)
                gap = True
            elif kind == 4:
                gap = True
    return _Text("".join(out), tuple(starts))


def normalise(text: str) -> str:
    """The text as cues see it: half-width, case-folded, simplified, without punctuation or
    spaces except single spaces between ASCII words; ``|`` marks sentence ends."""
    return _prepare(text).text


# ---------------------------------------------------------------------------------------------
# Cues


@dataclass(frozen=True, slots=True, eq=False)  # identity: the classifier shares one per phrase
class _Term:
    """One piece of a cue. Chinese terms are found as substrings; ASCII terms as runs of whole
    words of the text (a word ending in * matches any word it begins)."""

    literal: str  # the normalised phrase (ASCII: its words joined by spaces, without *)
    words: tuple[str, ...] = ()  # ASCII terms only
    wilds: tuple[bool, ...] = ()  # per word: ends in *, so the word is a prefix

    @property
    def is_ascii(self) -> bool:
        return bool(self.words)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Chinese terms: every occurrence in ``text``."""
        found: list[tuple[int, int]] = []
        size = len(self.literal)
        at = text.find(self.literal)
        while at >= 0:
            found.append((at, at + size))
            at = text.find(self.literal, at + 1)
        return found

    def word_spans(self, words: _Words, starts: Iterable[int]) -> list[tuple[int, int]]:
        """ASCII terms: the runs of adjacent words, beginning at word indexes ``starts``."""
        found: list[tuple[int, int]] = []
        tokens = words.tokens
        for first in starts:
            last = first + len(self.words) - 1
            if last >= len(tokens):
                continue
            for k in range(1, len(self.words)):
                word, start, _ = tokens[first + k]
                if tokens[first + k - 1][2] + 1 != start or words.text[start - 1] != " ":
                    break
                if not (word.startswith(self.words[k]) if self.wilds[k] else word == self.words[k]):
                    break
            else:
                found.append((tokens[first][1], tokens[last][2]))
        return found


@dataclass(frozen=True, slots=True)
class _Words:
    """The ASCII words of a normalised text, with where they stand."""

    text: str
    tokens: tuple[tuple[str, int, int], ...]  # word, start, end
    at: Mapping[str, list[int]]  # word → indexes into tokens

    @classmethod
    def of(cls, text: str) -> _Words:
        tokens = tuple((m.group(), m.start(), m.end()) for m in _ASCII_WORD.finditer(text))
        at: dict[str, list[int]] = {}
        for index, (word, _, _) in enumerate(tokens):
            at.setdefault(word, []).append(index)
        return cls(text, tokens, at)


@dataclass(frozen=True, slots=True)
class _Cue:
    phrase: str  # as written in the plan, shown to the citizen
    label: str  # area id or OUT_OF_SCOPE
    weight: float
    terms: tuple[_Term, ...]
    whole: bool = False  # "=phrase": only the entire message matches


def _term(cue: str, raw: str) -> _Term:
    if raw.isascii():
        words = raw.strip().casefold().split()
        if not words:
            raise CueSyntaxError(cue, "empty term")
        stems: list[str] = []
        wilds: list[bool] = []
        for word in words:
            wild = word.endswith("*")
            stem = normalise(word.rstrip("*"))
            if not stem or not _ASCII_WORD.fullmatch(stem.replace(" ", "")):
                raise CueSyntaxError(cue, f"{word!r} is not a word (letters, digits, a final *)")
            if "*" in word.rstrip("*"):
                raise CueSyntaxError(cue, "'*' may only end a word")
            pieces = stem.split(" ")
            stems.extend(pieces)
            wilds.extend([False] * (len(pieces) - 1) + [wild])
        return _Term(literal=" ".join(stems), words=tuple(stems), wilds=tuple(wilds))
    if "*" in raw:
        raise CueSyntaxError(cue, "'*' works on English words only")
    literal = normalise(raw)
    if literal.isascii() and literal.strip(_SENTENCE):  # e.g. full-width ＫＴＶ: an English word
        return _term(cue, literal)
    if not literal:
        raise CueSyntaxError(cue, "nothing left to match after normalisation")
    if _SENTENCE in literal:
        raise CueSyntaxError(cue, "a term must not span a sentence end; use … between terms")
    return _Term(literal=literal)


def parse_cue(phrase: str) -> None:
    """Check one cue phrase; raises :class:`CueSyntaxError` when the classifier could not use
    it. For the plan loader, so a bad cue is reported with its file and key."""
    _terms(phrase)


def _terms(phrase: str) -> tuple[_Term, ...]:
    if not isinstance(phrase, str) or not phrase.strip():
        raise CueSyntaxError(str(phrase), "empty cue")
    body = phrase.strip()
    if body.startswith("="):
        body = body[1:]
        if _CUE_JOINER.search(body):
            raise CueSyntaxError(phrase, "a whole-message cue ('=') cannot have '…' gaps")
        if "*" in body:
            raise CueSyntaxError(phrase, "a whole-message cue ('=') cannot have '*'")
    pieces = _CUE_JOINER.split(body)
    if any(not piece.strip() for piece in pieces):
        raise CueSyntaxError(phrase, "'…' needs a term on both sides")
    return tuple(_term(phrase, piece) for piece in pieces)


def _weight(cue: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CueSyntaxError(cue, f"weight must be a number, not {value!r}")
    weight = float(value)
    if not math.isfinite(weight):
        raise CueSyntaxError(cue, "weight must be finite")
    return weight


# ---------------------------------------------------------------------------------------------
# Negation


_jieba_lock = threading.Lock()
_jieba_ready = False


def _warm_jieba() -> None:
    global _jieba_ready
    with _jieba_lock:
        if not _jieba_ready:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # it announces its dictionary load on stderr
            jieba.initialize()
            _jieba_ready = True


@lru_cache(maxsize=8192)
def _tokens(window: str) -> tuple[str, ...]:
    if not _jieba_ready:
        _warm_jieba()
    import jieba

    return tuple(jieba.lcut(window, HMM=False))


def _negated_prefix(text: _Text, start: int, ascii_term: bool) -> bool:
    """Does a negator govern the word starting at ``start``?"""
    clause = text.clause_start(start)
    sentence = text.text.rfind(_SENTENCE, 0, start) + 1
    begin = max(clause, sentence)
    if ascii_term:
        words = text.text[max(begin, start - 40) : start].split()[-_PREFIX_TOKENS:]
        for word in reversed(words):
            if word in _BREAKERS_EN:
                return False
            if word in _NEGATORS_EN:
                return True
        return False
    window = text.text[max(begin, start - _PREFIX_CHARS) : start]
    if not _NEGATOR_CHARS.intersection(window):
        return False
    tokens = _tokens(window)[-_PREFIX_TOKENS:]
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i] in _BREAKERS_ZH:
            return False
        # jieba splits some dialect negators (冒得 → 冒 得): look at the pair too
        if tokens[i] in _NEGATORS_ZH or (i and tokens[i - 1] + tokens[i] in _NEGATORS_ZH):
            return True
    return False


def _negated_gap(gap: str) -> bool:
    if any(word in _NEGATORS_EN for word in gap.split()):
        return True
    if not _NEGATOR_CHARS.intersection(gap):
        return False
    tokens = _tokens(gap)
    pairs = (a + b for a, b in pairwise(tokens))
    return any(token in _NEGATORS_ZH for token in tokens) or any(p in _NEGATORS_ZH for p in pairs)


# ---------------------------------------------------------------------------------------------
# Classification


@dataclass(frozen=True, slots=True)
class Classification:
    """What the rules make of a complaint text.

    ``area`` is an area id, or None for out of scope. ``cues`` are the phrases (as written in
    the plan) that argued for it, strongest first. ``runner_up`` is the next area with any
    evidence (for None: the best area with any). ``scores`` holds every area's score and the
    out-of-scope score under :data:`OUT_OF_SCOPE`. ``margin`` is the softmax share of the
    winner minus that of the next class.
    """

    area: str | None
    confidence: float
    cues: tuple[str, ...]
    runner_up: str | None
    scores: Mapping[str, float] = field(hash=False)
    margin: float = 1.0
    threshold: float = 0.5
    min_margin: float = 0.0

    @property
    def needs_choice(self) -> bool:
        """Too unsure to pre-select: the citizen picks the area (or "not sure")."""
        return self.confidence < self.threshold or self.margin < self.min_margin


@dataclass(frozen=True, slots=True)
class _Match:
    cue: _Cue
    start: int
    end: int


class Classifier:
    """Compiled cue tables. Build once per plan with :meth:`from_cues`; :meth:`classify` is
    pure and thread-safe."""

    def __init__(
        self,
        areas: tuple[str, ...],
        cues: tuple[_Cue, ...],
        threshold: float,
        *,
        min_margin: float = 0.0,
        temperature: float = 1.0,
        no_context_prior: float = 1.0,
    ) -> None:
        self.areas = areas
        self.threshold = threshold
        self.min_margin = min_margin
        self.temperature = temperature
        self.no_context_prior = no_context_prior
        # One shared object per distinct term, so each is searched once per text.
        terms: dict[tuple[str, ...], _Term] = {}

        def shared(term: _Term) -> _Term:
            return terms.setdefault((term.literal, *map(str, term.wilds)), term)

        self._cues = tuple(replace(cue, terms=tuple(shared(t) for t in cue.terms)) for cue in cues)
        # A text is only searched for the Chinese terms whose first one or two characters it
        # contains, and for the English terms whose first word it contains; only the cues whose
        # first term it contains are followed up.
        grams: dict[str, list[_Term]] = {}
        words: dict[str, list[_Term]] = {}
        prefixes: dict[str, list[_Term]] = {}
        for term in terms.values():
            if not term.is_ascii:
                grams.setdefault(term.literal[:2], []).append(term)
            elif term.wilds[0]:
                prefixes.setdefault(term.words[0], []).append(term)
            else:
                words.setdefault(term.words[0], []).append(term)
        self._grams = {key: tuple(found) for key, found in grams.items()}
        self._gram_keys = frozenset(self._grams)
        self._words = {key: tuple(found) for key, found in words.items()}
        self._prefixes = {key: tuple(found) for key, found in prefixes.items()}
        sizes = [len(key) for key in self._prefixes] or [0]
        self._prefix_sizes = (min(sizes), max(sizes))
        by_first: dict[_Term, list[tuple[int, _Cue]]] = {}
        whole: dict[str, list[tuple[int, _Cue]]] = {}
        for order, cue in enumerate(self._cues):
            if cue.whole:
                whole.setdefault(cue.terms[0].literal, []).append((order, cue))
            else:
                by_first.setdefault(cue.terms[0], []).append((order, cue))
        self._by_first = {term: tuple(found) for term, found in by_first.items()}
        self._whole = {literal: tuple(found) for literal, found in whole.items()}

    @classmethod
    def from_cues(
        cls,
        area_cues: Mapping[str, Mapping[str, float]],
        out_of_scope_cues: Mapping[str, float],
        threshold: float,
        *,
        min_margin: float = 0.0,
        temperature: float = 1.0,
        no_context_prior: float = 1.0,
    ) -> Classifier:
        """area_cues: area id → (cue phrase → weight), in the plan's order (ties go to the
        earlier area). Raises :class:`CueSyntaxError` (a ValueError) on a bad cue and
        ValueError on bad settings."""
        if not area_cues:
            raise ValueError("at least one area is needed")
        for name, value in (("threshold", threshold), ("min_margin", min_margin)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
        if not temperature > 0 or not math.isfinite(temperature):
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if not math.isfinite(no_context_prior):
            raise ValueError("no_context_prior must be finite")
        compiled: list[_Cue] = []
        for area, table in area_cues.items():
            if not area or area == OUT_OF_SCOPE:
                raise ValueError(f"invalid area id {area!r}")
            compiled.extend(_compile(area, table))
        compiled.extend(_compile(OUT_OF_SCOPE, out_of_scope_cues))
        return cls(
            tuple(area_cues),
            tuple(compiled),
            threshold,
            min_margin=min_margin,
            temperature=temperature,
            no_context_prior=no_context_prior,
        )

    @property
    def cue_count(self) -> int:
        """How many cues the tables hold (all areas and out-of-scope)."""
        return len(self._cues)

    def warm_up(self) -> None:
        """Load jieba's dictionary now rather than on the first negation (about a second)."""
        _warm_jieba()

    def classify(self, text: str) -> Classification:
        """Score ``text`` against every table. Never raises on any string."""
        prepared = _prepare(text if isinstance(text, str) else str(text))
        matches = self._matches(prepared)
        labels = (*self.areas, OUT_OF_SCOPE)
        pro: dict[str, float] = dict.fromkeys(labels, 0.0)
        con: dict[str, float] = dict.fromkeys(labels, 0.0)
        for m in matches:
            if m.cue.weight > 0:
                pro[m.cue.label] += m.cue.weight
            else:
                # Counter-cues state one fact (this is about government service): the strongest
                # one counts, so a text full of 窗口/工作人员/政务 cannot drown out 表扬.
                con[m.cue.label] = min(con[m.cue.label], m.cue.weight)
        context = con[OUT_OF_SCOPE] < 0
        scores = {area: max(0.0, pro[area] + con[area]) for area in self.areas}
        scores[OUT_OF_SCOPE] = (
            pro[OUT_OF_SCOPE] + con[OUT_OF_SCOPE] + (0.0 if context else self.no_context_prior)
        )

        ranked = sorted(self.areas, key=lambda a: -scores[a])  # stable: plan order breaks ties
        best = ranked[0]
        area: str | None = best if scores[best] > 0 and scores[best] > scores[OUT_OF_SCOPE] else None
        if area is None:
            runner_up = best if scores[best] > 0 else None
        else:
            runner_up = next((a for a in ranked[1:] if scores[a] > 0), None)

        shares = self._softmax(scores)
        winner = OUT_OF_SCOPE if area is None else area
        confidence = min(1.0, max(0.0, shares[winner]))
        second = max((p for label, p in shares.items() if label != winner), default=0.0)
        winning = [m for m in matches if m.cue.label == winner and m.cue.weight > 0]
        winning.sort(key=lambda m: (-m.cue.weight, m.start))
        return Classification(
            area=area,
            confidence=confidence,
            cues=tuple(dict.fromkeys(m.cue.phrase for m in winning)),
            runner_up=runner_up,
            scores=MappingProxyType(scores),
            margin=max(0.0, confidence - second),
            threshold=self.threshold,
            min_margin=self.min_margin,
        )

    def _softmax(self, scores: Mapping[str, float]) -> dict[str, float]:
        top = max(scores.values())
        exps = {label: math.exp((s - top) / self.temperature) for label, s in scores.items()}
        total = sum(exps.values())
        return {label: e / total for label, e in exps.items()}

    def _matches(self, prepared: _Text) -> list[_Match]:
        text = prepared.text
        whole = text.strip(_SENTENCE)
        spans: dict[_Term, list[tuple[int, int]]] = {}
        grams = set(text)
        grams.update(map(operator.add, text, text[1:]))
        for gram in grams & self._gram_keys:
            for term in self._grams[gram]:
                if text.find(term.literal) >= 0:  # most candidates miss: skip the call
                    spans[term] = term.spans(text)
        words = _Words.of(text)
        if words.tokens:
            starts: dict[_Term, list[int]] = {}
            for word, indexes in words.at.items():
                for term in self._words.get(word, ()):
                    starts.setdefault(term, []).extend(indexes)
            if self._prefixes:
                shortest, longest = self._prefix_sizes
                for word, indexes in words.at.items():
                    for size in range(shortest, min(len(word), longest) + 1):
                        for term in self._prefixes.get(word[:size], ()):
                            starts.setdefault(term, []).extend(indexes)
            for term, firsts in starts.items():
                occurrences = term.word_spans(words, sorted(firsts))
                if occurrences:
                    spans[term] = occurrences
        found: list[tuple[int, _Match]] = [
            (order, _Match(cue, 0, len(text))) for order, cue in self._whole.get(whole, ())
        ]
        for term in spans:
            for order, cue in self._by_first.get(term, ()):
                if len(cue.terms) == 1 or all(t in spans for t in cue.terms[1:]):
                    match = self._match(cue, spans, prepared)
                    if match is not None:
                        found.append((order, match))
        found.sort(key=lambda item: item[0])  # table order decides ties in _drop_nested
        return _drop_nested([match for _, match in found])

    @staticmethod
    def _match(cue: _Cue, spans: Mapping[_Term, list[tuple[int, int]]], prepared: _Text) -> _Match | None:
        """The first occurrence of ``cue`` that no negator governs (negative cues: the first)."""
        text = prepared.text
        check_negation = cue.weight > 0
        rest = cue.terms[1:]
        for start, end in spans[cue.terms[0]]:
            chain_end = _chain(rest, end, spans, text, check_negation) if rest else end
            if chain_end is None:
                continue
            if check_negation and _negated_prefix(prepared, start, cue.terms[0].is_ascii):
                continue
            return _Match(cue, start, chain_end)
        return None


def _chain(
    terms: tuple[_Term, ...],
    end: int,
    spans: Mapping[_Term, list[tuple[int, int]]],
    text: str,
    check_negation: bool,
) -> int | None:
    """Where the rest of a ``…`` cue ends when it can follow on from ``end``, else None."""
    for term in terms:
        candidates = spans[term]
        i = bisect.bisect_left(candidates, (end, end))
        for start, stop in candidates[i:]:
            gap = text[end:start]
            if _SENTENCE in gap:
                return None
            too_far = len(gap.split()) > GAP_WORDS if term.is_ascii else len(gap) > GAP_CHARS
            if too_far:
                return None
            if check_negation and _negated_gap(gap):
                continue
            end = stop
            break
        else:
            return None
    return end


def _drop_nested(matches: list[_Match]) -> list[_Match]:
    """A positive match lying inside another positive match of the same table adds nothing:
    the longer one wins, then the heavier, then the one written first in the table."""
    if len(matches) < 2:
        return matches
    order = sorted(
        range(len(matches)),
        key=lambda i: (-(matches[i].end - matches[i].start), -matches[i].cue.weight, i),
    )
    kept: dict[str, list[tuple[int, int]]] = {}
    keep: list[int] = []
    for i in order:
        m = matches[i]
        if m.cue.weight > 0:
            spans = kept.setdefault(m.cue.label, [])
            if any(start <= m.start and m.end <= end for start, end in spans):
                continue
            spans.append((m.start, m.end))
        keep.append(i)
    return [matches[i] for i in sorted(keep)]


def _compile(label: str, table: Mapping[str, float]) -> Iterable[_Cue]:
    for phrase, value in table.items():
        yield _Cue(
            phrase=phrase,
            label=label,
            weight=_weight(phrase, value),
            terms=_terms(phrase),
            whole=phrase.strip().startswith("="),
        )
