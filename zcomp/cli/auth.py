"""`zcomp login` and `zcomp logout`: the admin password in the OS keyring."""

from __future__ import annotations

import dataclasses

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.options import json_option
from zcomp.credentials import (
    KEYRING_SERVICE,
    KeyringStoreError,
    forget,
    get_password,
    keyring_set,
    keyring_username,
)
from zcomp.exitcodes import ExitCode, UsageError, ZcompError


@click.command()
@json_option
@pass_app
def login(app: AppContext) -> None:
    """Verify the admin password against Zimbra and store it in the OS keyring.

    The password is typed at a hidden prompt (or taken from --password-file / ZCOMP_PASSWORD),
    never from an option value.
    """
    settings = app.settings
    if not settings.keyring:
        raise UsageError(
            f"keyring = false ({settings.sources.get('keyring')}): nothing to store; "
            "use --password-file or ZCOMP_PASSWORD"
        )
    connection = app.connection_settings()  # checks url/admin before asking for a password
    secret = get_password(settings, app.password_source, use_keyring=False)
    # Token cache off: a cached token would let login() succeed without checking the password.
    connection = dataclasses.replace(connection, password=lambda: secret, token_cache="off")  # noqa: S106
    client = app.make_client(connection)
    client.login()
    username = keyring_username(connection.admin, connection.url)
    try:
        keyring_set(KEYRING_SERVICE, username, secret.reveal())
    except KeyringStoreError as exc:
        # Not an authentication failure (exit 3): the password is right, only storing failed.
        raise ZcompError(
            f"password for {connection.admin} verified, but it could not be stored: the OS "
            f"keyring is not usable here ({exc.reason}); supply it with --password-file PATH, "
            "ZCOMP_PASSWORD, or password_file in the configuration (keyring = false stops "
            "zcomp trying the keyring)",
            exit_code=ExitCode.FAILURE,
        ) from None
    if app.json:
        app.output.data({"admin": connection.admin, "url": connection.url, "stored": True})
    else:
        app.output.success(
            f"Password for {connection.admin} verified and stored in the OS keyring."
        )


@click.command()
@json_option
@pass_app
def logout(app: AppContext) -> None:
    """Remove the stored admin password and any cached auth token."""
    removed = forget(app.settings)
    if app.json:
        app.output.data({"removed": removed})
        return
    if not removed:
        app.output.info("Nothing stored: no password or cached token to remove.")
    for item in removed:
        app.output.info(f"Removed {item}.")
