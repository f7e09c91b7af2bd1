import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.pupils.upn import CHECK_LETTERS, upn_check_letter, upn_problem


@pytest.mark.parametrize(
    "upn",
    [
        "H801200001001",  # DfE guidance example: sum 53, mod 23 = 7 -> H
        "G80120000101A",  # DfE temporary example: A counts as 0
        "B801200005001",  # python-stdnum doctest
    ],
)
def test_valid_upns(upn):
    assert upn_problem(upn) is None


@pytest.mark.parametrize(
    ("upn", "expected"),
    [
        ("A801200005001", "B"),
        # The worked example that circulates with "267 -> Q" is wrong: the sum is 266 -> P.
        ("B207000016049", "P"),
        ("Q207000016049", "P"),
    ],
)
def test_wrong_check_letter_names_the_right_one(upn, expected):
    assert upn_problem(upn) == f"The check letter does not match: expected {expected}"


def test_temporary_letter_counts_by_its_table_index_not_as_zero():
    assert upn_check_letter("80120000101B") == "W"  # treating B as 0 would give G
    assert upn_problem("W80120000101B") is None
    assert upn_problem("G80120000101B") is not None


@pytest.mark.parametrize(
    "upn",
    ["", "H80120000100", "H8012000010011", "I801200001001", "H80120000X001", "H80120000100I"],
)
def test_malformed_upns(upn):
    assert upn_problem(upn) is not None


@given(
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.sampled_from(CHECK_LETTERS + "0123456789"),
)
def test_any_tail_with_its_check_letter_is_valid_and_any_other_letter_is_not(digits, last):
    tail = digits + last
    letter = upn_check_letter(tail)
    assert upn_problem(letter + tail) is None
    for other in CHECK_LETTERS.replace(letter, ""):
        assert upn_problem(other + tail) is not None
