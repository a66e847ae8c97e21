from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from session_roam.engine.syncthing.deviceid import luhn_base32, parse_device_id
from session_roam.errors import InvalidInput

# Generated here by `syncthing generate` (1.19.2); also checked against its cert.pem.
REAL = "HKHFN7Y-7TI5ZIW-ZIOBERK-MKLXZ7V-EKJOADU-PXKGBAY-DNV5YJL-EJSGTQL"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _from_digest(digest: bytes) -> str:
    data = base64.b32encode(digest).decode().rstrip("=")
    checked = "".join(data[i : i + 13] + luhn_base32(data[i : i + 13]) for i in range(0, 52, 13))
    return "-".join(checked[i : i + 7] for i in range(0, 56, 7))


def test_parse_device_id_accepts_a_real_id() -> None:
    assert parse_device_id(REAL).canonical == REAL


def test_parse_device_id_normalises_case_and_dashes() -> None:
    assert parse_device_id(REAL.replace("-", "").lower()).canonical == REAL


def test_parse_device_id_accepts_spaces_and_surrounding_whitespace() -> None:
    assert parse_device_id("  " + REAL.replace("-", " ") + "\n").canonical == REAL


def test_parse_device_id_corrects_typos_like_syncthing() -> None:
    typo = REAL.replace("O", "0").replace("I", "1").replace("B", "8")
    assert parse_device_id(typo).canonical == REAL


def test_parse_device_id_accepts_legacy_form_without_check_characters() -> None:
    compact = REAL.replace("-", "")
    legacy = "".join(compact[i : i + 13] for i in range(0, 56, 14))
    assert parse_device_id(legacy).canonical == REAL


def test_parse_device_id_short_is_first_group() -> None:
    assert parse_device_id(REAL).short == "HKHFN7Y"


def test_parse_device_id_rejects_wrong_check_character() -> None:
    bad = REAL[:-1] + ("A" if REAL[-1] != "A" else "B")
    with pytest.raises(InvalidInput, match="check character of part 4"):
        parse_device_id(bad)


def test_parse_device_id_rejects_wrong_length() -> None:
    with pytest.raises(InvalidInput, match="55 characters instead of 56"):
        parse_device_id(REAL[:-1])


def test_parse_device_id_rejects_non_base32_characters() -> None:
    with pytest.raises(InvalidInput, match="base32"):
        parse_device_id(REAL[:-1] + "!")


def test_parse_device_id_rejects_empty() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        parse_device_id(" - ")


def test_parse_device_id_error_is_one_sentence_with_hint() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_device_id("PEER1111")
    assert caught.value.message.count(". ") == 0
    assert caught.value.message.endswith(".")
    assert "roam setup" in caught.value.hint


@given(st.binary(min_size=32, max_size=32))
def test_parse_device_id_round_trips_any_certificate_digest(digest: bytes) -> None:
    made = _from_digest(digest)
    assert parse_device_id(made.lower().replace("-", "")).canonical == made


@given(
    st.binary(min_size=32, max_size=32),
    st.integers(min_value=0, max_value=55),
    st.sampled_from(ALPHABET),
)
def test_parse_device_id_detects_any_single_substitution(
    digest: bytes, position: int, replacement: str
) -> None:
    compact = _from_digest(digest).replace("-", "")
    if compact[position] == replacement:
        return
    mutated = compact[:position] + replacement + compact[position + 1 :]
    with pytest.raises(InvalidInput):
        parse_device_id(mutated)
