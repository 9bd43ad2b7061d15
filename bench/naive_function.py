"""The function people write from the public demos: the yardstick for bench/cold_start.py.

Typed MpsClient and the COS SDK imported at module level (as the Tencent demos do), a typed
ProcessImageRequest, a new client per record. Not used by the project; never deployed.
"""

import json
import os

from qcloud_cos import CosConfig, CosS3Client  # noqa: F401  (demos import it for COS access)
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client


def main_handler(event, context):
    endpoint = os.environ.get("MPS_ENDPOINT", "https://mps.tencentcloudapi.com")
    scheme, host = endpoint.split("://", 1)
    task_ids = []
    for record in event["Records"]:
        bucket = record["cos"]["cosBucket"]
        key = record["cos"]["cosObject"]["key"].split("/", 3)[3]
        cred = credential.Credential(
            os.environ["TENCENTCLOUD_SECRETID"],
            os.environ["TENCENTCLOUD_SECRETKEY"],
            os.environ.get("TENCENTCLOUD_SESSIONTOKEN"),
        )
        profile = ClientProfile(httpProfile=HttpProfile(protocol=scheme, endpoint=host))
        client = mps_client.MpsClient(cred, bucket["cosRegion"], profile)
        req = models.ProcessImageRequest()
        req.from_json_string(
            json.dumps(
                {
                    "InputInfo": {
                        "Type": "COS",
                        "CosInputInfo": {
                            "Bucket": bucket["name"] + "-" + bucket["appid"],
                            "Region": bucket["cosRegion"],
                            "Object": "/" + key,
                        },
                    },
                    "OutputStorage": {
                        "Type": "COS",
                        "CosOutputStorage": {
                            "Bucket": bucket["name"] + "-" + bucket["appid"],
                            "Region": bucket["cosRegion"],
                        },
                    },
                    "OutputDir": "/enhanced/",
                    "ImageTask": {
                        "EncodeConfig": {"Format": "JPEG", "Quality": 75},
                        "EnhanceConfig": {"SuperResolution": {"Switch": "ON"}},
                    },
                }
            )
        )
        resp = client.ProcessImage(req)
        print(resp.to_json_string())
        task_ids.append(resp.TaskId)
    return task_ids
