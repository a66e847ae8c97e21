from __future__ import annotations

import inspect

from session_roam import errors
from session_roam.errors import ExitCode, RoamError


def _error_classes() -> list[type[RoamError]]:
    return [
        obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, RoamError)
    ]


def test_exit_codes_are_distinct() -> None:
    assert len({int(code) for code in ExitCode}) == len(ExitCode)


def test_every_error_class_has_a_hint() -> None:
    for cls in _error_classes():
        assert cls.default_hint.strip(), cls.__name__


def test_every_error_class_is_exported() -> None:
    exported = set(errors.__all__)
    for cls in _error_classes():
        assert cls.__name__ in exported


def test_errors_all_is_sorted() -> None:
    assert errors.__all__ == sorted(errors.__all__)


def test_error_message_is_the_sentence() -> None:
    error = errors.InvalidInput("That is not a session id.", hint="Use a UUID.")
    assert str(error) == "That is not a session id."
    assert error.hint == "Use a UUID."
    assert error.exit_code == ExitCode.INVALID_INPUT
