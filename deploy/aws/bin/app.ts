import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { buildLambdaAsset } from '../../../scripts/build-lambda.js';
import { DEFAULTS } from '../../../src/config/index.js';
import { accessRules, parametersFrom } from '../lib/parameters.js';
import { ResizerStack } from '../lib/stack.js';
import { viewerRequestCode } from '../lib/viewer-request-code.js';

/**
 * `npx cdk synth|deploy [-c name=value ...]` in deploy/aws. Every run bundles the Lambda from src/ and compiles
 * the viewer-request function from the same grammar, so what is deployed is what the tests ran.
 */
const app = new App();
const parameters = parametersFrom((name) => app.node.tryGetContext(name) as unknown);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const lambdaAssetDir = await buildLambdaAsset({ arch: parameters.architecture, outDir: join(root, 'dist/lambda-asset', parameters.architecture) });
new ResizerStack(app, String(app.node.tryGetContext('stackName') ?? 'Resizer'), {
  parameters,
  lambdaAssetDir,
  viewerRequestCode: await viewerRequestCode(
    { maxOutputWidth: DEFAULTS.maxOutputWidth, maxOutputHeight: DEFAULTS.maxOutputHeight },
    { rules: accessRules(parameters), signing: parameters.signingKeysSecret !== undefined },
  ),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
