"""SOME_TEXT (free text that says something, no NUL) means the same to every reader: the
validator (pydantic-core's Rust regex), Python's re (what the fuzzer generates from) and the
rule in words. They once disagreed on U+0085, which the fuzzer found."""

from __future__ import annotations

import re
from typing import Annotated

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from hotline.api.schemas import SOME_TEXT

# ECMAScript's \s together with Unicode's White_Space
SPACE = set("\t\n\v\f\r \u0085\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {
    chr(c) for c in range(0x2000, 0x200B)
}


class Body(BaseModel):
    text: Annotated[str, Field(pattern=SOME_TEXT)]


def accepted(text: str) -> bool:
    try:
        Body(text=text)
    except ValidationError:
        return False
    return True


def says_something(text: str) -> bool:
    return "\x00" not in text and any(ch not in SPACE for ch in text)


@given(st.text(alphabet=st.sampled_from([*SPACE, "\x00", "a", "好", "\x85", "\u200b"])))
def test_validator_regex_and_rule_agree(text: str) -> None:
    assert accepted(text) == says_something(text) == bool(re.fullmatch(SOME_TEXT, text))


def test_the_cases_that_disagreed() -> None:
    assert not accepted("\u0085") and not accepted("\ufeff") and not accepted(" \t")
    assert accepted(" a\u0085") and accepted("好")
