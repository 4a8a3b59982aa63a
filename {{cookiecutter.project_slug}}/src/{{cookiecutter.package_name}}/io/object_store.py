"""Object storage: single files at `s3://bucket/key`, moved by pyarrow's S3 client.

Credentials, region and endpoint come from the standard AWS variables and files
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3,
~/.aws), so any S3-compatible store works. The client is in the pyarrow wheel: nothing is
downloaded at run time (DuckDB's own S3 reader, its httpfs extension, would be). A missing object
or an unreadable store is one UserError naming the URI, the cause and the fix.
"""

import shutil
from pathlib import Path
from typing import TypeGuard

from ..core.errors import UserError

S3_SCHEME = "s3://"
COPY_BUFFER = 8 * 1024 * 1024
# What to check when a store cannot be reached or refuses: the variables pyarrow's client reads.
AWS_HINT = (
    "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and, for a store other than "
    "AWS, AWS_ENDPOINT_URL"
)


def is_s3(location: Path | str) -> TypeGuard[str]:
    """True for an `s3://` URI (kept as text: a Path folds its `//`)."""
    return isinstance(location, str) and location.startswith(S3_SCHEME)


def download(uri: str, destination: Path) -> None:
    """Copy the object at `uri` into the local file `destination`, streamed (little memory)."""
    from pyarrow import fs

    try:
        store, key = fs.FileSystem.from_uri(uri)
        with store.open_input_stream(key) as remote, destination.open("wb") as local:
            shutil.copyfileobj(remote, local, COPY_BUFFER)
    except FileNotFoundError:
        raise UserError(
            f"{uri[:200]} not found in object storage; check the bucket and key (and the "
            "endpoint, AWS_ENDPOINT_URL)"
        ) from None
    except OSError as error:
        raise UserError(f"{uri[:200]} cannot be read ({str(error)[:200]}); {AWS_HINT}") from None


def upload(source: Path, uri: str) -> None:
    """Copy the local file `source` to the object `uri` (replacing it), streamed."""
    from pyarrow import fs

    try:
        store, key = fs.FileSystem.from_uri(uri)
        with source.open("rb") as local, store.open_output_stream(key) as remote:
            shutil.copyfileobj(local, remote, COPY_BUFFER)
    except OSError as error:
        raise UserError(
            f"{uri[:200]} cannot be written ({str(error)[:200]}); {AWS_HINT}, and that the "
            "bucket exists"
        ) from None
