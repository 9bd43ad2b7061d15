"""The fake Tencent Cloud one rehearsal deploys into, and what it keeps between rehearsals.

One fake COS account holds the user's bucket (the trigger's) and, once the deploy has created
it, the code bucket; the fake SCF reads code from it and runs the function on its uploads; the
fake MPS (wired to the same COS) receives the function's tasks and writes their outputs back.
The toolkit reaches SCF and COS over HTTPS through the proxy (fakes/cloud/proxy.py) with a test
CA made for this run. SCF's functions and triggers, and whether the code bucket exists, are saved
in the state directory, so the next rehearsal deploys over them as a redeploy would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakes.cloud import CloudProxy, CloudRouter, CodeBucketResponses, CodeBuckets
from fakes.cos import CosBackend, FakeCosServer
from fakes.harness import FakeMps, start_mps, upload_event
from fakes.identities import COS_ROLE, MPS_ROLE, FakeIdentity
from fakes.scf import ScfBackend, ScfResponses

from ..runtimes import locate_runtime

SCF_HOST = "scf.tencentcloudapi.com"
COS_HOST = re.compile(r"[a-z0-9-]+\.cos\.[a-z0-9-]+\.(?:myqcloud\.com|tencentcos\.cn)")
# The keys the toolkit deploys with here: fake ones, never the user's (.env's keys stay on this machine).
DEPLOYER = FakeIdentity("FAKEIDrehearsalDeployer0000000000000", "rehearsalDeployerSecret000000000")


def interpreter_for(runtime: str) -> str | None:
    """SCF's Python runtime -> this machine's CPython of that version (pyenv), or None."""
    if not runtime.startswith("Python3."):
        return None
    try:
        found = locate_runtime(runtime[len("Python") :])
    except ValueError:
        return None
    return found.executable if found else None


@dataclass
class FakeCloud:
    region: str
    appid: str
    cos: CosBackend
    cos_server: FakeCosServer
    code_bucket: CodeBucketResponses
    mps: FakeMps
    scf: ScfBackend
    proxy: CloudProxy
    ca_file: Path
    state_file: Path
    restored: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, workdir: Path, state_file: Path, region: str, buckets: list[str], fresh: bool) -> FakeCloud:
        import trustme  # the CLI's rehearsal dependency only

        saved: dict[str, Any] = {}
        if state_file.is_file() and not fresh:
            try:
                saved = json.loads(state_file.read_text(encoding="utf-8"))
            except ValueError:
                saved = {}
        cos = CosBackend()
        for bucket in buckets:
            cos.create_bucket(bucket, region)
        code = CodeBuckets()
        code.regions.update(dict.fromkeys(saved.get("code_buckets", []), region))
        cos.add_credential(*DEPLOYER)
        cos.add_credential(*COS_ROLE)
        appid = buckets[0].rpartition("-")[2]
        mps = start_mps(MPS_ROLE, cos=cos, waiting_seconds=0, processing_seconds=0)
        platform_env = {"MPS_ENDPOINT": mps.url, **MPS_ROLE.environ(), "TENCENTCLOUD_REGION": region}
        scf = ScfBackend(cos, code, appid, region, workdir / "code", interpreter_for, platform_env)
        scf.add_credential(*DEPLOYER)
        scf.restore(saved.get("scf", {}))
        scf.watch_uploads(cos, upload_event)
        code_bucket = CodeBucketResponses(cos, code)
        scf_wire = ScfResponses(scf)

        def route(host: str) -> Any:
            if host == SCF_HOST:
                return scf_wire
            return code_bucket if COS_HOST.fullmatch(host) else None

        proxy = CloudProxy(CloudRouter(route, trustme.CA())).start()
        ca_file = proxy.write_ca(workdir / "rehearsal-ca.pem")
        cos_server = FakeCosServer(cos).start()
        return cls(region, appid, cos, cos_server, code_bucket, mps, scf, proxy, ca_file, state_file, saved)

    def toolkit_env(self, base: dict[str, str]) -> dict[str, str]:
        """The deploy's environment: every HTTPS call through the proxy, the run's CA trusted."""
        env = {k: v for k, v in base.items() if k.upper() not in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")}
        proxy = f"http://127.0.0.1:{self.proxy.port}"
        env.update(
            {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "NO_PROXY": "", "NODE_EXTRA_CA_CERTS": str(self.ca_file)}
        )
        return env

    def upload(self, bucket: str, key: str, body: bytes, content_type: str = "image/jpeg") -> None:
        """An upload to the user's bucket with the official COS SDK, over HTTP to the fake COS."""
        from qcloud_cos import CosConfig, CosS3Client

        config = CosConfig(
            Region=self.region, IP=self.cos_server.ip, Port=self.cos_server.port, Scheme="http",
            SecretId=COS_ROLE.secret_id, SecretKey=COS_ROLE.secret_key, Token=COS_ROLE.token,
        )  # fmt: skip
        CosS3Client(config, retry=0).put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def save(self) -> None:
        state = {"scf": self.scf.saved(), "code_buckets": sorted(self.code_bucket.code.regions)}
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    def stop(self) -> None:
        self.proxy.stop()
        self.cos_server.stop()
        self.mps.stop()
        self.scf.close()
