// What a `component: scf` deploy runs, driven offline by `autoenhance rehearse`.
//
// The Framework's CLI zips `src` and hands the platform the inputs; the platform runs the scf
// component (serverless-components/tencent-scf, src/utils.js `uploadCodeToCos` and `formatInputs`),
// which uploads the zip to the code bucket and calls this toolkit's `Scf.deploy(inputs)`. The
// component itself is not published to npm, so its few steps that matter here are repeated below,
// in its order and with its names; everything that talks to Tencent Cloud is the pinned toolkit's.
//
// argv: <request.json> <result.json>. request: {inputs, credentials, appId, zip, stage, app}.
// result: {outputs} or {error: {message, code, type}}. Every API call goes through HTTPS_PROXY.
'use strict';

const fs = require('fs');
const { Cos, Scf } = require('tencent-component-toolkit');

// The component's generateId: a short random suffix for the code object's name.
const generateId = () => Math.random().toString(36).substring(6);

async function uploadCodeToCos(credentials, appId, inputs, zip) {
  const region = inputs.region || 'ap-guangzhou';
  const bucketName = `sls-cloudfunction-${region}-code`;
  const objectName = `/scf_component_${generateId()}-${Math.floor(Date.now() / 1000)}.zip`;
  const cos = new Cos(credentials, region);
  await cos.deploy({
    bucket: `${bucketName}-${appId}`,
    force: true,
    lifecycle: [
      {
        status: 'Enabled',
        id: 'deleteObject',
        filter: '',
        expiration: { days: '10' },
        abortIncompleteMultipartUpload: { daysAfterInitiation: '10' },
      },
    ],
  });
  await cos.upload({ bucket: `${bucketName}-${appId}`, file: zip, key: objectName });
  return { bucket: bucketName, object: objectName };
}

async function deploy(request) {
  const { credentials, appId, zip, stage, app } = request;
  const inputs = request.inputs;
  inputs.runtime = inputs.runtime || 'Nodejs12.16';
  inputs.handler = inputs.handler || 'index.main_handler';
  inputs.code = await uploadCodeToCos(credentials, appId, inputs, zip);
  inputs.name = inputs.name || `${request.instance}-${stage}-${app}`;
  inputs.description = inputs.description || `This is a function in ${app} application`;
  inputs.events = (inputs.events || []).map((event) => {
    const type = Object.keys(event)[0];
    event[type].name = event[type].name || `${type}-${request.instance}-${stage}`;
    return event;
  });
  const scf = new Scf(credentials, inputs.region || 'ap-guangzhou');
  return scf.deploy(inputs);
}

async function main() {
  const [requestPath, resultPath] = process.argv.slice(2);
  const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
  let result;
  try {
    result = { outputs: await deploy(request) };
  } catch (e) {
    result = { error: { message: String(e && e.message), code: e && e.code, type: e && e.type } };
  }
  fs.writeFileSync(resultPath, JSON.stringify(result));
}

main();
