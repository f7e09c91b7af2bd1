"""Unique Pupil Number validation with the DfE check letter (DOMAIN.md §2.3).

Weights 2..13 over characters 2-13; digits count as themselves and a temporary UPN's final
letter counts as its index in the 23-letter table (A=0, B=1, ...), not as 0: the DfE MTC
shortcut of reading any letter as 0 is only right for "A".
"""

CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # I, O and S are never used
_LETTER_VALUE = {letter: index for index, letter in enumerate(CHECK_LETTERS)}


def upn_check_letter(tail: str) -> str:
    """The check letter for characters 2-13 of a UPN (12 characters)."""
    if len(tail) != 12:
        raise ValueError("a UPN tail has 12 characters")
    total = 0
    for weight, char in enumerate(tail, start=2):
        if char.isdigit():
            value = int(char)
        elif weight == 13 and char in _LETTER_VALUE:
            value = _LETTER_VALUE[char]
        else:
            raise ValueError(f"character {weight} of a UPN cannot be {char!r}")
        total += value * weight
    return CHECK_LETTERS[total % 23]


def upn_problem(upn: str) -> str | None:
    """Why `upn` is not a valid UPN, or None when it is."""
    if len(upn) != 13:
        return "A UPN has exactly 13 characters"
    if upn[0] not in _LETTER_VALUE:
        return "Character 1 of a UPN is a check letter (A-Z without I, O and S)"
    if not upn[1:12].isascii() or not upn[1:12].isdigit():
        return "Characters 2-12 of a UPN are digits"
    last = upn[12]
    if not (last.isascii() and last.isdigit()) and last not in _LETTER_VALUE:
        return "Character 13 of a UPN is a digit, or a letter for a temporary UPN"
    expected = upn_check_letter(upn[1:])
    if upn[0] != expected:
        return f"The check letter does not match: expected {expected}"
    return None
