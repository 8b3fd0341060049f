"""Argon2id hashes, rehash on old parameters, and the same work for unknown users."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from runtime.auth.passwords import dummy_hash, hash_password, password_problem, verify_password


def test_a_hash_is_argon2id_and_only_the_right_password_matches() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery").matches
    assert not verify_password(stored, "correct horse batterY").matches
    assert not verify_password("not a hash", "correct horse battery").matches


def test_a_hash_with_weaker_parameters_is_upgraded_on_the_next_login() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse battery")
    verdict = verify_password(weak, "correct horse battery")
    assert verdict.matches and verdict.upgraded_hash is not None
    assert verify_password(verdict.upgraded_hash, "correct horse battery").upgraded_hash is None


def test_an_unknown_user_is_checked_against_a_hash_as_costly_as_a_real_one() -> None:
    # The timing itself is measured in bench/login.py; here: the same Argon2id parameters, so the same work.
    assert extract_parameters(dummy_hash()) == extract_parameters(hash_password("correct horse battery"))
    assert not verify_password(None, "trellis-dummy-password-for-unknown-users").matches


def test_short_passwords_are_refused_with_the_minimum_named() -> None:
    assert password_problem("short") == "The password must be at least 12 characters long."
    assert password_problem("twelve chars") is None
