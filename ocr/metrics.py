"""Text-accuracy metrics used by the benchmark and the tests (no OCR engine needed)."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

_CJK = re.compile(
    "[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)


def normalize(text: str, *, casefold: bool = False, drop_cjk: bool = False) -> str:
    """NFKC, optional case folding and CJK removal, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", text)
    if drop_cjk:
        text = _CJK.sub(" ", text)
    if casefold:
        text = text.casefold()
    return " ".join(text.split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions all cost 1).

    Myers' bit-parallel algorithm (Hyyroe's formulation) on Python integers as bit vectors:
    O(len(a) x len(b) / word size), so whole document pages (8,000 characters) take milliseconds."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    masks: dict[str, int] = {}
    for i, char in enumerate(b):
        masks[char] = masks.get(char, 0) | (1 << i)
    full, top = (1 << len(b)) - 1, 1 << (len(b) - 1)
    plus, minus, score = full, 0, len(b)
    for char in a:
        eq = masks.get(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        ph = minus | ~(xh | plus)
        mh = plus & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = (ph << 1) | 1
        mh <<= 1
        plus = (mh | ~(xv | ph)) & full
        minus = ph & xv
    return score


def cer(predicted: str, reference: str) -> float:
    """Character error rate: edit distance over reference length. Order-sensitive, so it
    measures reading order as well as recognition."""
    if not reference:
        return float(bool(predicted))
    return levenshtein(predicted, reference) / len(reference)


def word_f1(predicted: str, reference: str) -> float:
    """F1 of the bags of whitespace-separated words (order-insensitive)."""
    pred, ref = Counter(predicted.split()), Counter(reference.split())
    if not pred and not ref:
        return 1.0
    overlap = sum((pred & ref).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)
