"""The interpreter of the plan's rules: complaint classification (SPEC §4.2).

Pure and explainable: no model, no network, nothing learned at run time. The plan file gives
each task area a table of cue phrases with weights, plus one table for out-of-scope messages
and a list of concept groups; :class:`Classifier` compiles them once and
:meth:`Classifier.classify` scores a text by the weights of the cues it finds, falling back on
how much the unexplained rest of the text resembles each table's vocabulary. The citizen sees
the cues that decided it (and, for a resemblance, the words that resembled, marked ``≈``).

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
``{enforcer}…{abuse}`` / ``{enforcer}``
    A term written ``{name}`` is any member phrase of the concept group ``name`` from the
    plan's ``[classifier.groups]`` (``enforcer = ["城管", "交警", "police*", …]``; members are
    written like terms, without ``…``, ``=`` or groups). One such cue states an area's
    definition as who did what (an enforcement officer acting roughly is area 三), so new
    wordings are recognised without a cue each. The citizen is shown the words that matched
    (``城管…骂``), not the braces.
weight > 0
    Evidence for the area (or, in the out-of-scope table, for "not a complaint for us").
weight < 0
    Evidence against it. In the out-of-scope table a negative weight marks government-service
    context (窗口, 执法, 审批, ``{enforcer}``, official, permit …): such words argue that the
    message *is* about government service, and with none of them present the out-of-scope side
    starts with ``no_context_prior`` points.

Negation: a positive cue is ignored when a negator governs it: 不 / 没有 / 未 / 从不 / 并非 /
冇得 … (not / no / never / without …) among the last few words before it in the same clause,
with no ``就`` / ``但`` / ``还`` / ``but`` … in between; the same holds for each later term of
a ``…`` cue, looking back into its gap. ``没有收红包``, ``态度一点也不差`` and ``was not rude``
therefore count nothing, while a negator written into the cue itself (``不开票``, ``no
receipt``) is part of the phrase. Word segmentation (jieba) is used only here, and only when a
negator character is near, so that 不动产, 没收 or 不但 are not taken for negations. Negative
weights are never negated: context stays context.

Scoring
-------
A table's positive evidence is its matched weights, strongest first, each further one counting
:data:`DECAY` times less than the one before (so 拍桌子 + 骂我 + 摔 cannot outweigh one strong
cue of another area); its single strongest negative match is added (counter-cues state one
fact, such as "this is about government service", so they do not pile up); an area's score is
floored at 0. The out-of-scope score also gets ``no_context_prior`` when no government context
was found. When out-of-scope evidence (a landlord, a shop, a greeting) is present and no
government context is, every area's score is multiplied by :data:`PRIVATE_SCALE`: 多收钱 said
of a driver is not 吃拿卡要. A cue counts once however often it occurs, and a match lying inside
a longer match of the same table adds nothing (``推诿`` inside ``推诿扯皮``), so a specific
phrase can carry its own weight without double counting.

The back-off. Unless one label already leads every other by at least :data:`BACKOFF_CAP` (then
nothing it adds could change the answer), the text left once the matched cues (and every
negated stretch, from its negator on) are cut out is compared with each table's vocabulary:
the character pairs of its positive cues' Chinese terms and the stems of their English words,
weighted by TF-IDF over the six tables (a pair every table uses, such as 工作, counts nothing;
one only a single table uses, such as 截留, counts most). Each label gets
:data:`BACKOFF_WEIGHT` × its summed resemblance, at most :data:`BACKOFF_CAP`: weak evidence
that settles texts the cues leave open, never outweighing a clear cue. The winner's strongest
resembling pairs are shown to the citizen as ``≈资金`` when fewer than three cues explain it.

Decision and confidence
-----------------------
The best area wins when it has positive evidence and beats the out-of-scope score; otherwise the
text is out of scope (``area is None``). The confidence is the winner's share of a softmax over
the six scores (five areas and out-of-scope) at ``temperature``: it grows with the margin over
the runner-up *and* with the absolute evidence, because classes without evidence still hold
e^0 each. Below the plan's threshold (or when the best two shares are closer than
``min_margin``) the citizen picks the area; an out-of-scope answer, which sends the citizen to
another channel, needs at least :data:`OUT_OF_SCOPE_THRESHOLD`. The thresholds were set on
blind batches so that most wrong answers fall below them (see tests/unit/test_rules.py).

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
from typing import Final, NamedTuple

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_WEIGHT",
    "DECAY",
    "GAP_CHARS",
    "GAP_WORDS",
    "MAX_CHARS",
    "OUT_OF_SCOPE",
    "OUT_OF_SCOPE_THRESHOLD",
    "PRIVATE_SCALE",
    "Classification",
    "Classifier",
    "CueSyntaxError",
    "compile_groups",
    "normalise",
    "parse_cue",
]

OUT_OF_SCOPE: Final = "out_of_scope"
"""The key of the out-of-scope score in :attr:`Classification.scores`."""

MAX_CHARS: Final = 10_000
BACKOFF_WEIGHT: Final = 0.2
BACKOFF_CAP: Final = 2.0
DECAY: Final = 0.7
PRIVATE_SCALE: Final = 0.6
OUT_OF_SCOPE_THRESHOLD: Final = 0.6
GAP_CHARS: Final = 10
GAP_WORDS: Final = 5

_SENTENCE: Final = "|"  # sentence boundary in normalised text; no cue can contain it
_CUE_JOINER = re.compile(r"\s*(?:…|\.\.\.)\s*")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_ASCII_LETTER = re.compile(r"[a-z]")
_ASCII_ALNUM = re.compile(r"[a-z0-9]")

# Negation. Tokens as jieba (HMM off) cuts them; a few merged forms are listed in case a
# dictionary update joins them.
_NEGATORS_ZH: Final = frozenset(
    {
        "不", "没", "没有", "未", "未曾", "无", "并未", "从未", "从不", "从没", "从没有", "从来不",
        "从来没", "从来没有", "并没有", "并没", "并不", "不曾", "绝不", "决不", "绝没有", "别",
        "不是", "并非", "毫不", "也不", "都不", "也没", "也没有", "都没有", "都没", "冒得", "没得",
        "冇", "冇得", "冇有", "也冇", "都冇",
    }
)  # fmt: skip
_NEGATOR_CHARS: Final = frozenset("不没未无非别毫冒冇")  # 冒得, 冇(得): 没有 in Hunan speech
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
_NEGATOR_AT: Final = re.compile(
    "[" + "".join(sorted(_NEGATOR_CHARS)) + r"]|\b(?:" + "|".join(sorted(_NEGATORS_EN)) + r")\b"
)
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
_HAS_TRADITIONAL: Final = re.compile("[" + "".join(map(chr, _T2S)) + "]")

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
    negators: tuple[int, ...] = ()  # where a negator character or English negator word stands

    @property
    def negatable(self) -> bool:
        """False: no negator anywhere, so no match needs the check."""
        return bool(self.negators)

    def negator_before(self, start: int, reach: int) -> bool:
        """Is there a negator within ``reach`` characters before ``start``?"""
        i = bisect.bisect_left(self.negators, start)
        return i > 0 and self.negators[i - 1] >= start - reach

    def negator_at(self, start: int) -> int:
        """Where the negator nearest before ``start`` stands (``start`` if none): a negated
        stretch runs from there (没有人要红包, not just 红包)."""
        i = bisect.bisect_left(self.negators, start)
        return self.negators[i - 1] if i else start

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
    text = raw[:MAX_CHARS]
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    # each pass below only when it has something to do (most texts need none of them)
    if _HAS_TRADITIONAL.search(text):
        text = text.translate(_T2S)
    if "'" in text or "’" in text:
        text = _CONTRACTION.sub(" not", text)
        text = _APOSTROPHE.sub("", text)
    if "." in text:
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
    joined = "".join(out)
    negators = tuple(m.start() for m in _NEGATOR_AT.finditer(joined))
    return _Text(joined, tuple(starts), negators)


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
    members: tuple[_Term, ...] = ()  # a {group}: found wherever any member is

    @property
    def is_ascii(self) -> bool:
        return bool(self.words)

    @property
    def key(self) -> tuple[str, ...]:
        """What makes two terms the same search."""
        return (self.literal, *map(str, self.wilds))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Chinese terms: every occurrence in ``text``."""
        literal = self.literal
        size = len(literal)
        at = text.find(literal)
        if at < 0:
            return []
        found = [(at, at + size)]
        at = text.find(literal, at + 1)
        while at >= 0:
            found.append((at, at + size))
            at = text.find(literal, at + 1)
        return found

    def word_spans(self, words: _Words, starts: Iterable[int]) -> list[tuple[int, int]]:
        """ASCII terms: the runs of adjacent words, beginning at word indexes ``starts``."""
        tokens = words.tokens
        if len(self.words) == 1:  # the index found the word (or a word it begins) there
            return [(tokens[first][1], tokens[first][2]) for first in starts]
        found: list[tuple[int, int]] = []
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
    slot: int = 0  # the label's index in the classifier's labels (areas, then out of scope)
    order: int = 0  # its place in the tables, for ties
    grouped: bool = False  # names a {group}: the citizen is shown the words that matched


_GROUP_REF: Final = re.compile(r"\{\s*([^{}\s]+)\s*\}")
_GROUP_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")


def _term(cue: str, raw: str, groups: Mapping[str, tuple[_Term, ...]] | None = None) -> _Term:
    ref = _GROUP_REF.fullmatch(raw.strip())
    if ref is not None:
        name = ref.group(1)
        if groups is None or name not in groups:
            raise CueSyntaxError(cue, f"unknown group {{{name}}} (groups are defined in [classifier.groups])")
        return _Term(literal="{" + name + "}", members=groups[name])
    if "{" in raw or "}" in raw:
        raise CueSyntaxError(cue, "a group reference is a whole term: {name}, with '…' around it")
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


def parse_cue(phrase: str, groups: Mapping[str, Iterable[str]] | None = None) -> None:
    """Check one cue phrase; raises :class:`CueSyntaxError` when the classifier could not use
    it (with ``groups``, the plan's ``[classifier.groups]``, for ``{name}`` terms). For the
    plan loader, so a bad cue is reported with its file and key."""
    _terms(phrase, compile_groups(groups or {}))


def compile_groups(groups: Mapping[str, Iterable[str]]) -> dict[str, tuple[_Term, ...]]:
    """Concept groups: name → its member phrases, each written like a cue term (a Chinese
    phrase or English words with an optional final *). Raises :class:`CueSyntaxError`."""
    compiled: dict[str, tuple[_Term, ...]] = {}
    for name, members in groups.items():
        where = "{" + str(name) + "}"
        if not isinstance(name, str) or not _GROUP_NAME.fullmatch(name):
            raise CueSyntaxError(where, "a group name is lower-case letters, digits and _")
        if isinstance(members, str):
            raise CueSyntaxError(where, "a group is a list of phrases")
        terms = []
        for member in members:
            plain = isinstance(member, str) and member.strip() and "=" not in member
            if not plain or _CUE_JOINER.search(member):
                raise CueSyntaxError(where, f"member {member!r} must be one plain phrase")
            terms.append(_term(where, member))
        if not terms:
            raise CueSyntaxError(where, "a group needs at least one member")
        compiled[name] = tuple(terms)
    return compiled


def _terms(phrase: str, groups: Mapping[str, tuple[_Term, ...]] | None = None) -> tuple[_Term, ...]:
    if not isinstance(phrase, str) or not phrase.strip():
        raise CueSyntaxError(str(phrase), "empty cue")
    body = phrase.strip()
    if body.startswith("="):
        body = body[1:]
        if _CUE_JOINER.search(body):
            raise CueSyntaxError(phrase, "a whole-message cue ('=') cannot have '…' gaps")
        if "*" in body:
            raise CueSyntaxError(phrase, "a whole-message cue ('=') cannot have '*'")
        if "{" in body:
            raise CueSyntaxError(phrase, "a whole-message cue ('=') cannot use a {group}")
    pieces = _CUE_JOINER.split(body)
    if any(not piece.strip() for piece in pieces):
        raise CueSyntaxError(phrase, "'…' needs a term on both sides")
    return tuple(_term(phrase, piece, groups) for piece in pieces)


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
    if not text.negator_before(start, 40 if ascii_term else _PREFIX_CHARS):
        return False
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
    """Does a negator in the gap of a ``…`` cue govern the term after it? As before a cue's
    first term: among the last few words of the gap, with no 就 / 但 / but … after it."""
    words = gap.split()
    if words and words[-1].isascii():
        for word in reversed(words[-_PREFIX_TOKENS:]):
            if word in _BREAKERS_EN:
                return False
            if word in _NEGATORS_EN:
                return True
        return False
    if not _NEGATOR_CHARS.intersection(gap):
        return False
    tokens = _tokens(gap)[-_PREFIX_TOKENS:]
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i] in _BREAKERS_ZH:
            return False
        if tokens[i] in _NEGATORS_ZH or (i and tokens[i - 1] + tokens[i] in _NEGATORS_ZH):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Back-off: resemblance to a table's vocabulary

_EN_STOP: Final = frozenset(
    {
        "a", "an", "the", "to", "of", "in", "on", "at", "for", "and", "or", "but", "is", "was",
        "were", "are", "be", "been", "being", "am", "i", "me", "my", "we", "our", "us", "you",
        "your", "he", "him", "his", "she", "her", "it", "its", "they", "them", "their", "this",
        "that", "these", "those", "there", "here", "with", "by", "from", "as", "have", "has",
        "had", "do", "did", "does", "so", "if", "then", "than", "not", "no", "very", "just",
        "all", "any", "some", "one", "two", "what", "who", "when", "where", "which", "why", "how",
        "would", "could", "should", "will", "can", "may", "might", "must", "shall", "again",
        "also", "still", "even", "only", "every", "each", "other", "about", "into", "out", "up",
        "down", "over", "after", "before", "while",
    }
)  # fmt: skip
_EN_SUFFIXES: Final = ("ingly", "edly", "ings", "ing", "ied", "ies", "ed", "es", "ly", "s")


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    """A crude English stem (bribes, bribed, bribery → brib…): enough to see that two words
    share a root; never shown alone."""
    for suffix in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:7]


# Function characters: a pair holding one (我们, 了一, 的人) is never shown as a resemblance.
_FUNCTION_CHARS: Final = frozenset("的了是在我你他她它们把被就都也还又和跟与这那啊吧呢吗呀哦么着过地其之而")


def _han_pairs(text: str) -> set[str]:
    """The pairs of adjacent Chinese characters in ``text``."""
    return {
        a + b
        for a, b in pairwise(text)
        if not (a.isascii() or b.isascii() or a == _SENTENCE or b == _SENTENCE)
    }


def _profile_keys(term: _Term) -> set[str]:
    if term.members:  # a group's members are searched for, not resembled
        return set()
    if term.is_ascii:
        return {" " + _stem(w) for w in term.words if w not in _EN_STOP and not w.isdigit()}
    return _han_pairs(term.literal)


@dataclass(frozen=True, slots=True)
class _Profile:
    """The back-off: what each table's vocabulary looks like, for text no cue explains.

    The keys are the character pairs of the Chinese terms of each table's positive cues and
    the stems of their English words (with a leading space). A key's evidence for a label is
    TF-IDF over the six tables: log(1 + the key's summed cue weight in the table, scaled to
    equal table sizes) × log(6 / how many tables use it), so a key every table uses (工作,
    办理) counts nothing and one only a single table uses (截留 → rent_seeking) counts most.
    """

    evidence: Mapping[str, tuple[float, ...]]  # key → its evidence for each label
    keys: frozenset[str]

    @classmethod
    def build(cls, labels: tuple[str, ...], cues: Iterable[_Cue]) -> _Profile:
        index = {label: i for i, label in enumerate(labels)}
        mass: dict[str, list[float]] = {}
        for cue in cues:
            if cue.weight <= 0 or cue.whole:
                continue
            keys: set[str] = set()
            for term in cue.terms:
                keys |= _profile_keys(term)
            for key in keys:
                mass.setdefault(key, [0.0] * len(labels))[index[cue.label]] += cue.weight
        totals = [sum(row[i] for row in mass.values()) or 1.0 for i in range(len(labels))]
        mean = sum(totals) / len(totals)
        evidence: dict[str, tuple[float, ...]] = {}
        for key, row in mass.items():
            idf = math.log(len(labels) / sum(1 for m in row if m > 0))
            if idf > 0:
                scaled = (m * mean / total for m, total in zip(row, totals, strict=True))
                evidence[key] = tuple(math.log1p(m) * idf for m in scaled)
        return cls(MappingProxyType(evidence), frozenset(evidence))

    def hits(self, pairs: set[str], text: str) -> set[str]:
        """The distinct keys of ``text`` that some table knows; ``pairs`` holds (at least) all
        its pairs of characters."""
        candidates = pairs & self.keys
        if len(text) > 300:  # one pass over a long text beats a search per candidate
            candidates &= set(map(operator.add, text, text[1:]))
            found = candidates
        else:
            found = {pair for pair in candidates if pair in text}
        if _ASCII_LETTER.search(text):
            stems = {" " + _stem(w) for w in _ASCII_WORD.findall(text) if w not in _EN_STOP}
            found.update(stems & self.keys)
        return found

    def score(self, hits: set[str]) -> list[float]:
        """Per label, the summed evidence of ``hits`` (which the profile all knows)."""
        return [sum(column) for column in zip(*map(self.evidence.__getitem__, hits), strict=True)]

    def fragments(self, hits: set[str], label: int, count: int) -> list[str]:
        """The ``count`` strongest keys of ``hits`` for ``label``, to show the citizen."""
        strength = {k: self.evidence[k][label] for k in hits if k[0] == " " or _FUNCTION_CHARS.isdisjoint(k)}
        shown = sorted((k for k, e in strength.items() if e > 0), key=lambda k: (-strength[k], k))
        return [k.strip() for k in shown[:count]]


# ---------------------------------------------------------------------------------------------
# Classification


@dataclass(frozen=True, slots=True)
class Classification:
    """What the rules make of a complaint text.

    ``area`` is an area id, or None for out of scope. ``cues`` are the phrases (as written in
    the plan; for a cue with a {group}, the words that matched it, such as ``城管…骂``) that
    argued for it, strongest first, then, when the back-off helped and fewer than three cues
    explain it, the words that resembled the winner's vocabulary, marked ``≈`` (``≈资金``).
    ``runner_up`` is the next area with any evidence (for None: the best area with any).
    ``scores`` holds every area's score and the out-of-scope score under
    :data:`OUT_OF_SCOPE`. ``margin`` is the softmax share of the winner minus that of the next
    class.
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


class _Match(NamedTuple):  # a tuple: made for every cue found, so cheap to make
    cue: _Cue
    start: int
    end: int
    parts: tuple[tuple[int, int], ...]  # the terms' own spans (gaps excluded)


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
        backoff_weight: float = BACKOFF_WEIGHT,
        backoff_cap: float = BACKOFF_CAP,
        decay: float = DECAY,
        private_scale: float = PRIVATE_SCALE,
        out_of_scope_threshold: float = OUT_OF_SCOPE_THRESHOLD,
    ) -> None:
        self.areas = areas
        self.threshold = threshold
        # an out-of-scope answer sends the citizen elsewhere, so it must be surer
        self.out_of_scope_threshold = max(threshold, out_of_scope_threshold)
        self.min_margin = min_margin
        self.temperature = temperature
        self.no_context_prior = no_context_prior
        self.backoff_weight = backoff_weight
        self.backoff_cap = backoff_cap
        self.decay = decay
        self.private_scale = private_scale
        self._labels = (*areas, OUT_OF_SCOPE)
        slots = {label: i for i, label in enumerate(self._labels)}
        cues = tuple(replace(cue, slot=slots[cue.label]) for cue in cues)
        # One shared object per distinct term, so each is searched once per text.
        terms: dict[tuple[str, ...], _Term] = {}

        def shared(term: _Term) -> _Term:
            if term.members:
                term = replace(term, members=tuple(shared(m) for m in term.members))
            return terms.setdefault(term.key, term)

        self._cues = tuple(
            replace(cue, terms=tuple(map(shared, cue.terms)), order=order) for order, cue in enumerate(cues)
        )
        member_of: dict[_Term, list[_Term]] = {}
        for term in terms.values():
            for member in term.members:
                member_of.setdefault(member, []).append(term)
        self._member_of = {member: tuple(groups) for member, groups in member_of.items()}
        # A text is only searched for the Chinese terms whose first one or two characters it
        # contains, and for the English terms whose first word it contains; only the cues whose
        # first term it contains are followed up.
        grams: dict[str, list[_Term]] = {}
        words: dict[str, list[_Term]] = {}
        prefixes: dict[str, list[_Term]] = {}
        for term in terms.values():
            if term.members:
                continue
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
        self._prefix_sizes = tuple(sorted({len(key) for key in self._prefixes}))
        by_first: dict[_Term, list[tuple[_Cue, frozenset[_Term]]]] = {}
        whole: dict[str, list[_Cue]] = {}
        for cue in self._cues:
            if cue.whole:
                whole.setdefault(cue.terms[0].literal, []).append(cue)
            else:
                by_first.setdefault(cue.terms[0], []).append((cue, frozenset(cue.terms[1:])))
        self._by_first = {term: tuple(found) for term, found in by_first.items()}
        self._whole = {literal: tuple(found) for literal, found in whole.items()}
        self._profile = _Profile.build((*areas, OUT_OF_SCOPE), self._cues)

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
        groups: Mapping[str, Iterable[str]] | None = None,
        backoff_weight: float = BACKOFF_WEIGHT,
        backoff_cap: float = BACKOFF_CAP,
        decay: float = DECAY,
        private_scale: float = PRIVATE_SCALE,
        out_of_scope_threshold: float = OUT_OF_SCOPE_THRESHOLD,
    ) -> Classifier:
        """area_cues: area id → (cue phrase → weight), in the plan's order (ties go to the
        earlier area); groups: the plan's ``[classifier.groups]`` for ``{name}`` terms. Raises
        :class:`CueSyntaxError` (a ValueError) on a bad cue or group and ValueError on bad
        settings. The remaining settings are explained in the module docstring; their
        defaults are the tuned ones."""
        if not area_cues:
            raise ValueError("at least one area is needed")
        for name, value in (
            ("threshold", threshold),
            ("min_margin", min_margin),
            ("decay", decay),
            ("private_scale", private_scale),
            ("out_of_scope_threshold", out_of_scope_threshold),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
        if not temperature > 0 or not math.isfinite(temperature):
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        for name, value in (("backoff_weight", backoff_weight), ("backoff_cap", backoff_cap)):
            if not value >= 0 or not math.isfinite(value):
                raise ValueError(f"{name} must be zero or more, got {value!r}")
        if not math.isfinite(no_context_prior):
            raise ValueError("no_context_prior must be finite")
        members = compile_groups(groups or {})
        compiled: list[_Cue] = []
        for area, table in area_cues.items():
            if not area or area == OUT_OF_SCOPE:
                raise ValueError(f"invalid area id {area!r}")
            compiled.extend(_compile(area, table, members))
        compiled.extend(_compile(OUT_OF_SCOPE, out_of_scope_cues, members))
        return cls(
            tuple(area_cues),
            tuple(compiled),
            threshold,
            min_margin=min_margin,
            temperature=temperature,
            no_context_prior=no_context_prior,
            backoff_weight=backoff_weight,
            backoff_cap=backoff_cap,
            decay=decay,
            private_scale=private_scale,
            out_of_scope_threshold=out_of_scope_threshold,
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
        negated: list[tuple[int, int]] = []
        pairs = set(prepared.text)  # its characters and pairs of characters
        pairs.update(map(operator.add, prepared.text, prepared.text[1:]))
        matches = self._matches(prepared, pairs, negated)
        labels = self._labels
        last = len(labels) - 1  # the out-of-scope slot
        pro: list[list[float]] = [[] for _ in labels]
        con = [0.0] * len(labels)
        for m in matches:
            weight = m.cue.weight
            if weight > 0:
                pro[m.cue.slot].append(weight)
            elif weight < con[m.cue.slot]:
                # Counter-cues state one fact (this is about government service): the strongest
                # one counts, so a text full of 窗口/工作人员/政务 cannot drown out 表扬.
                con[m.cue.slot] = weight
        context = con[last] < 0
        scores = [(p[0] if len(p) == 1 else self._sum(p)) + c for p, c in zip(pro, con, strict=True)]
        for i in range(last):
            if scores[i] < 0:
                scores[i] = 0.0
        if not context:
            scores[last] += self.no_context_prior

        private = not context and bool(pro[last]) and self.private_scale != 1.0
        if private:
            # a private party or chit-chat and no government body at all: area words (多收钱,
            # 态度差) describe a shop, a landlord or a driver
            for i in range(last):
                scores[i] *= self.private_scale
        hits: set[str] = set()
        backoff = [0.0] * len(labels)
        if self.backoff_weight > 0 and not self._decided(scores):
            hits = self._profile.hits(pairs, _masked(prepared.text, matches, negated))
            if hits:
                for i, value in enumerate(self._profile.score(hits)):
                    backoff[i] = min(self.backoff_cap, self.backoff_weight * value)
                    if private and i < last:
                        backoff[i] *= self.private_scale
                    scores[i] += backoff[i]

        # the best area and the next one with evidence (ties: the plan's order)
        best = second_best = -1
        for i in range(last):
            if best < 0 or scores[i] > scores[best]:
                best, second_best = i, best
            elif second_best < 0 or scores[i] > scores[second_best]:
                second_best = i
        winner = best if scores[best] > 0 and scores[best] > scores[last] else last
        if winner == last:
            runner_up = self.areas[best] if scores[best] > 0 else None
        else:
            runner_up = self.areas[second_best] if second_best >= 0 and scores[second_best] > 0 else None

        shares = self._softmax(scores)
        confidence = min(1.0, max(0.0, shares[winner]))
        shares[winner] = 0.0
        second = max(shares)
        winning = [m for m in matches if m.cue.slot == winner and m.cue.weight > 0]
        if len(winning) > 1:
            winning.sort(key=lambda m: (-m.cue.weight, m.start))
        shown = [_shown(m, prepared.text) if m.cue.grouped else m.cue.phrase for m in winning]
        if backoff[winner] > 0 and len(shown) < 3:
            shown.extend("≈" + f for f in self._profile.fragments(hits, winner, 3 - len(shown)))
        return Classification(
            area=None if winner == last else self.areas[winner],
            confidence=confidence,
            cues=tuple(dict.fromkeys(shown)),
            runner_up=runner_up,
            scores=MappingProxyType(dict(zip(labels, scores, strict=True))),
            margin=max(0.0, confidence - second),
            threshold=self.out_of_scope_threshold if winner == last else self.threshold,
            min_margin=self.min_margin,
        )

    def _decided(self, scores: list[float]) -> bool:
        """Does one label lead every other by more than the back-off can add? Then the back-off
        is not consulted: it is for texts the cues leave open."""
        top = max(scores)
        return sum(1 for s in scores if s >= top - self.backoff_cap) == 1

    def _sum(self, weights: list[float]) -> float:
        """A table's positive evidence: each further cue adds ``decay`` times less than the one
        before it, strongest first, so a pile of weak cues cannot outweigh one strong one."""
        if len(weights) < 2:
            return weights[0] if weights else 0.0
        if self.decay == 1.0:
            return sum(weights)
        weights.sort(reverse=True)
        factor = 1.0
        total = 0.0
        for weight in weights:
            total += weight * factor
            factor *= self.decay
        return total

    def _softmax(self, scores: list[float]) -> list[float]:
        top = max(scores)
        exps = [math.exp((s - top) / self.temperature) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    def _matches(self, prepared: _Text, grams: set[str], negated: list[tuple[int, int]]) -> list[_Match]:
        """Every cue found in the text (``grams``: its characters and pairs of characters);
        the spans a negator cancelled are added to ``negated``."""
        text = prepared.text
        spans: dict[_Term, list[tuple[int, int]]] = {}
        index = self._grams
        for gram in grams & self._gram_keys:
            for term in index[gram]:
                literal = term.literal
                at = text.find(literal)
                if at >= 0:  # most candidates miss
                    if text.find(literal, at + 1) < 0:  # and most hits occur once
                        spans[term] = [(at, at + len(literal))]
                    else:
                        spans[term] = term.spans(text)
        if _ASCII_ALNUM.search(text):
            self._word_spans(_Words.of(text), spans)
        if self._member_of:
            grouped: dict[_Term, list[list[tuple[int, int]]]] = {}
            for term, occurrences in spans.items():
                for group in self._member_of.get(term, ()):
                    grouped.setdefault(group, []).append(occurrences)
            for group, lists in grouped.items():
                spans[group] = lists[0] if len(lists) == 1 else sorted(set().union(*lists))
        whole = text.strip(_SENTENCE)
        found = [_Match(cue, 0, len(text), ((0, len(text)),)) for cue in self._whole.get(whole, ())]
        keys = spans.keys()
        by_first = self._by_first
        negatable = prepared.negatable
        for term in spans:
            for cue, rest in by_first.get(term, ()):
                if not rest or keys >= rest:
                    match = _match(cue, spans, prepared, negated, negatable)
                    if match is not None:
                        found.append(match)
        found.sort(key=_TABLE_ORDER)  # table order decides ties in _drop_nested
        return _drop_nested(found)

    def _word_spans(self, words: _Words, spans: dict[_Term, list[tuple[int, int]]]) -> None:
        """Adds the English terms found among ``words`` to ``spans``."""
        if not words.tokens:
            return
        starts: dict[_Term, list[int]] = {}
        for word, indexes in words.at.items():
            for term in self._words.get(word, ()):
                starts.setdefault(term, []).extend(indexes)
        if self._prefixes:
            prefixes = self._prefixes
            for word, indexes in words.at.items():
                for size in self._prefix_sizes:
                    if size > len(word):
                        break
                    for term in prefixes.get(word[:size], ()):
                        starts.setdefault(term, []).extend(indexes)
        for term, firsts in starts.items():
            occurrences = term.word_spans(words, sorted(firsts))
            if occurrences:
                spans[term] = occurrences


_TABLE_ORDER: Final = operator.attrgetter("cue.order")


def _match(
    cue: _Cue,
    spans: Mapping[_Term, list[tuple[int, int]]],
    prepared: _Text,
    negated: list[tuple[int, int]],
    negatable: bool,
) -> _Match | None:
    """The first occurrence of ``cue`` that no negator governs (negative cues: the first)."""
    text = prepared.text
    check_negation = negatable and cue.weight > 0
    terms = cue.terms
    first = terms[0]
    if len(terms) == 1:  # most cues
        for start, end in spans[first]:
            if check_negation and _negated_prefix(prepared, start, _ascii_at(first, text, start)):
                negated.append((prepared.negator_at(start), end))
                continue
            return _Match(cue, start, end, ((start, end),))
        return None
    rest = terms[1:]
    for start, end in spans[first]:
        parts = [(start, end)]
        if _chain(rest, end, spans, prepared, check_negation, parts) is None:
            continue
        if check_negation and _negated_prefix(prepared, start, _ascii_at(first, text, start)):
            negated.append((prepared.negator_at(start), parts[-1][1]))
            continue
        return _Match(cue, start, parts[-1][1], tuple(parts))
    return None


def _chain(
    terms: tuple[_Term, ...],
    end: int,
    spans: Mapping[_Term, list[tuple[int, int]]],
    prepared: _Text,
    check_negation: bool,
    parts: list[tuple[int, int]],
) -> int | None:
    """Where the rest of a ``…`` cue ends when it can follow on from ``end``, else None;
    the spans of the terms found are appended to ``parts``."""
    text = prepared.text
    for term in terms:
        candidates = spans[term]
        i = bisect.bisect_left(candidates, (end, end))
        for start, stop in candidates[i:]:
            gap = text[end:start]
            if _SENTENCE in gap:
                return None
            too_far = len(gap.split()) > GAP_WORDS if _ascii_at(term, text, start) else len(gap) > GAP_CHARS
            if too_far:
                return None
            # a negator governs within its clause (态度没变，还是差: 没 is not about 差)
            if check_negation and _negated_gap(text[max(end, prepared.clause_start(start)) : start]):
                continue
            parts.append((start, stop))
            end = stop
            break
        else:
            return None
    return end


def _masked(text: str, matches: list[_Match], negated: list[tuple[int, int]]) -> str:
    """``text`` with what the cues matched (and what a negator cancelled) cut out, for the
    back-off: it only weighs what no cue explained."""
    spans = [part for m in matches if m.cue.weight > 0 for part in m.parts]
    spans.extend(negated)
    if not spans:
        return text
    spans.sort()
    pieces: list[str] = []
    pos = 0
    for start, stop in spans:
        if start > pos:
            pieces.append(text[pos:start])
            pieces.append(_SENTENCE)  # no key holds it, so no pair is made across the cut
        pos = max(pos, stop)
    pieces.append(text[pos:])
    return "".join(pieces)


def _ascii_at(term: _Term, text: str, start: int) -> bool:
    """Is the occurrence of ``term`` at ``start`` English (a group's member can be either)?"""
    return text[start].isascii() if term.members else term.is_ascii


def _shown(match: _Match, text: str) -> str:
    """The cue as the citizen sees it: as written in the plan, or for a cue with a {group},
    the words of the text that matched it."""
    if not match.cue.grouped:
        return match.cue.phrase
    return "…".join(text[start:end] for start, end in match.parts)


def _drop_nested(matches: list[_Match]) -> list[_Match]:
    """A positive match lying inside another positive match of the same table adds nothing:
    the longer one wins, then the heavier, then the one written first in the table."""
    if len(matches) < 2:
        return matches
    by_slot: dict[int, list[int]] = {}
    for i, m in enumerate(matches):
        if m.cue.weight > 0:
            by_slot.setdefault(m.cue.slot, []).append(i)
    dropped: set[int] = set()
    for members in by_slot.values():
        if len(members) < 2:
            continue
        # Left to right, longer first at the same start: a match ending no later than one seen
        # before it lies inside that one (which is longer, or the same span but heavier or
        # written earlier).
        members.sort(key=lambda i: (matches[i].start, -matches[i].end, -matches[i].cue.weight, i))
        reach = -1
        for i in members:
            if matches[i].end <= reach:
                dropped.add(i)
            else:
                reach = matches[i].end
    if not dropped:
        return matches
    return [m for i, m in enumerate(matches) if i not in dropped]


def _compile(
    label: str, table: Mapping[str, float], groups: Mapping[str, tuple[_Term, ...]]
) -> Iterable[_Cue]:
    for phrase, value in table.items():
        terms = _terms(phrase, groups)
        yield _Cue(
            phrase=phrase,
            label=label,
            weight=_weight(phrase, value),
            terms=terms,
            whole=phrase.strip().startswith("="),
            grouped=any(term.members for term in terms),
        )
