"""The floor for bench/scf_cold_start.py: the least a function can do to submit one ProcessImage.

Only the common SDK's CommonClient (the same pinned closure as the deployed package), one client
per container, one call_json per record, no validation, no logging, no retries. Never deployed.
"""

import os

from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

_client = None


def main_handler(event, context):
    global _client
    if _client is None:
        scheme, host = os.environ["MPS_ENDPOINT"].split("://", 1)
        credential = Credential(
            os.environ["TENCENTCLOUD_SECRETID"],
            os.environ["TENCENTCLOUD_SECRETKEY"],
            os.environ.get("TENCENTCLOUD_SESSIONTOKEN"),
        )
        profile = ClientProfile(httpProfile=HttpProfile(protocol=scheme, endpoint=host))
        _client = CommonClient("mps", "2019-06-12", credential, "ap-guangzhou", profile)
    for record in event["Records"]:
        cos = record["cos"]
        bucket = f"{cos['cosBucket']['name']}-{cos['cosBucket']['appid']}"
        key = cos["cosObject"]["key"].split("/", 3)[3]
        _client.call_json(
            "ProcessImage",
            {
                "InputInfo": {
                    "Type": "COS",
                    "CosInputInfo": {"Bucket": bucket, "Region": cos["cosBucket"]["cosRegion"], "Object": "/" + key},
                },
                "OutputDir": "/enhanced/",
                "ImageTask": {"EncodeConfig": {"Format": "JPEG", "Quality": 75}},
            },
        )
