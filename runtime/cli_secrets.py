"""`trellis secrets rotate` and the key-ring check `serve`, `worker` and `scheduler` run before starting."""

from __future__ import annotations

import time

import click

from runtime.config import get_settings
from runtime.secret_canary import check_secret_keys
from runtime.secret_rotation import DEFAULT_BATCH_SIZE, rotate_secrets
from runtime.secrets import SecretsError
from runtime.store import ensure_database, get_engine


def require_secret_keys() -> None:
    """Exit with one clear message when the keys are missing (production) or cannot open this database."""
    try:
        check_secret_keys(get_settings())
    except SecretsError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def secrets() -> None:
    """The key ring that encrypts credentials and webhook tokens (TRELLIS_SECRET_KEYS)."""


@secrets.command(name="rotate")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Values re-encrypted per transaction.")  # fmt: skip
def rotate(batch_size: int) -> None:
    """Re-encrypt every stored secret under the first key of TRELLIS_SECRET_KEYS.

    Put the new key first and keep the old ones after it, run this, then drop the old keys.
    Safe to run again or after an interruption: values already under the first key are skipped.
    """
    ensure_database()
    require_secret_keys()
    started = time.monotonic()
    try:
        report = rotate_secrets(get_engine(), get_settings(), batch_size=batch_size, progress=click.echo)
    except SecretsError as error:
        raise click.ClickException(str(error)) from None
    rotated, skipped = sum(report.rotated.values()), sum(report.skipped.values())
    click.echo(
        f"Done in {time.monotonic() - started:.1f} s: {rotated} value(s) re-encrypted, {skipped} already under "
        "the first key. Keys after the first one may now be removed from TRELLIS_SECRET_KEYS."
    )
