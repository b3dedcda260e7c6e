"""`dsr keys`: the project key and the data keys it protects."""

import os
from pathlib import Path

import typer

from ...core.errors import DsrError
from .common import err, out, project

app = typer.Typer(no_args_is_help=True, help="The project key and the data keys it protects.")


@app.command("rotate")
def rotate(
    new_key_file: Path = typer.Option(
        None,
        "--new-key-file",
        help="the new project key (else $DSR_NEW_MASTER_KEY); readable by its owner only",
    ),
) -> None:
    """Re-encrypt everything under a new key; references, tombstones and the ledger stay valid.

    Archive files move to $DSR_NEW_ARCHIVE_KEY when it is set. Cut short, run it again with the same
    new key; once it ends, use the new key (DSR_MASTER_KEY or key_file) from then on.
    """
    from ...core.keys import NEW_KEY_ENV, key_from_file, load_master

    with project() as dsr:
        if new_key_file is None and not os.environ.get(NEW_KEY_ENV):
            raise DsrError(f"give the new key: --new-key-file PATH, or {NEW_KEY_ENV}")
        new = key_from_file(new_key_file) if new_key_file else load_master(variable=NEW_KEY_ENV)
        done = dsr.rotate_keys(new)
    for what, n in sorted(done.reencrypted.items()):
        err.print(f"{what}: {n} re-encrypted")
    out.print(f"keys rotated (encryption key version {done.encryption_version}): use the new key from now on")
