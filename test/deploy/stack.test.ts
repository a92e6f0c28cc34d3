import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { accessRules, parametersFrom } from '../../deploy/aws/lib/parameters.js';
import { ResizerStack } from '../../deploy/aws/lib/stack.js';
import { KVS_ID_PLACEHOLDER, viewerRequestCode } from '../../deploy/aws/lib/viewer-request-code.js';
import { DEFAULTS } from '../../src/config/index.js';

/*
 * The stack as `cdk synth` makes it, asserted on the CloudFormation template. The Lambda asset is a stand-in
 * folder (the bundle itself is tested in test/lambda/bundle.test.ts); the viewer-request code is the real one.
 */
type Json = Record<string, unknown>;
let asset: string;
let code: string;
let template: Template;
let resources: Record<string, { Type: string; Properties: Json }>;

function synth(context: Record<string, string>, viewerRequestCode = code): Template {
  const app = new App({ context });
  const stack = new ResizerStack(app, 'Resizer', {
    parameters: parametersFrom((name) => context[name]),
    lambdaAssetDir: asset,
    viewerRequestCode,
  });
  return Template.fromStack(stack);
}

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** The one resource of a type. */
const only = (type: string) => {
  const all = ofType(type);
  assert.equal(all.length, 1, type);
  return all[0]![1];
};
const logicalId = (type: string, prefix: string): string => {
  const found = ofType(type).find(([id]) => id.startsWith(prefix));
  assert.ok(found, `no ${type} ${prefix}*`);
  return found[0];
};
const arn = (bucket: string) => ({ 'Fn::GetAtt': [bucket, 'Arn'] });
const objects = (bucket: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] });

before(async () => {
  asset = mkdtempSync(join(tmpdir(), 'resizer-asset-'));
  writeFileSync(join(asset, 'handler.js'), 'export const handler = async () => ({ statusCode: 200 });\n');
  code = await viewerRequestCode({ maxOutputWidth: DEFAULTS.maxOutputWidth, maxOutputHeight: DEFAULTS.maxOutputHeight });
  template = synth({});
  resources = template.toJSON().Resources as typeof resources;
});
after(() => rmSync(asset, { recursive: true, force: true }));

describe('the CDK stack', () => {
  it('has exactly the resources of the design', () => {
    const counts: Record<string, number> = {};
    for (const r of Object.values(resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
    assert.deepEqual(counts, {
      'AWS::S3::Bucket': 2,
      'AWS::S3::BucketPolicy': 2,
      'Custom::S3BucketNotifications': 1,
      // resizer, the S3-event purger, and CDK's bucket-notifications handler
      'AWS::Lambda::Function': 3,
      'AWS::IAM::Role': 3,
      'AWS::IAM::Policy': 3,
      'AWS::Lambda::Url': 1,
      'AWS::Lambda::Permission': 3,
      'AWS::CloudFront::Function': 1,
      'AWS::CloudFront::CachePolicy': 1,
      'AWS::CloudFront::OriginAccessControl': 2,
      'AWS::CloudFront::Distribution': 1,
    });
    for (const output of ['DistributionUrl', 'SourceBucketName', 'DerivativeBucketName']) template.hasOutput(output, {});
  });

  it('keeps both buckets private, encrypted, TLS-only; derivatives expire after the parameter\'s days', () => {
    for (const [, bucket] of ofType('AWS::S3::Bucket')) {
      assert.deepEqual(bucket.Properties.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      assert.deepEqual(bucket.Properties.BucketEncryption, { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
      assert.deepEqual(bucket.Properties.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    }
    const derivatives = resources[logicalId('AWS::S3::Bucket', 'Derivatives')]!;
    assert.deepEqual(derivatives.Properties.LifecycleConfiguration, { Rules: [{ Id: 'expire-derivatives', ExpirationInDays: 90, Status: 'Enabled' }] });
    assert.equal(resources[logicalId('AWS::S3::Bucket', 'Sources')]!.Properties.LifecycleConfiguration, undefined);
  });

  it('bucket policies: TLS-only denial for everyone, and reads by this distribution only', () => {
    const sources = logicalId('AWS::S3::Bucket', 'Sources');
    const derivatives = logicalId('AWS::S3::Bucket', 'Derivatives');
    const distribution = logicalId('AWS::CloudFront::Distribution', 'Distribution');
    const tlsOnly = (b: string) => ({
      Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Effect: 'Deny', Principal: { AWS: '*' }, Resource: [arn(b), objects(b)],
    });
    const policies = Object.fromEntries(ofType('AWS::S3::BucketPolicy').map(([, p]) => [JSON.stringify(p.Properties.Bucket), (p.Properties.PolicyDocument as Json).Statement]));
    assert.deepEqual(policies[JSON.stringify({ Ref: sources })], [tlsOnly(sources)]);
    assert.deepEqual(policies[JSON.stringify({ Ref: derivatives })], [tlsOnly(derivatives), {
      Action: 's3:GetObject',
      Condition: { StringEquals: { 'AWS:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distribution }]] } } },
      Effect: 'Allow', Principal: { Service: 'cloudfront.amazonaws.com' }, Resource: objects(derivatives),
    }]);
  });

  it('grants each role exactly what it uses: no wildcard action, no wildcard principal in any Allow', () => {
    const sources = logicalId('AWS::S3::Bucket', 'Sources');
    const derivatives = logicalId('AWS::S3::Bucket', 'Derivatives');
    const distribution = logicalId('AWS::CloudFront::Distribution', 'Distribution');
    const stores = [
      { Action: 's3:GetObject', Effect: 'Allow', Resource: objects(sources) },
      { Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Effect: 'Allow', Resource: objects(derivatives) },
      { Action: 's3:ListBucket', Effect: 'Allow', Resource: [arn(sources), arn(derivatives)] },
    ];
    const byRole = Object.fromEntries(ofType('AWS::IAM::Policy').map(([, p]) => [
      ((p.Properties.Roles as Array<{ Ref: string }>)[0]!.Ref).replace(/[0-9A-F]{8}$/, ''),
      (p.Properties.PolicyDocument as Json).Statement,
    ]));
    assert.deepEqual(byRole, {
      ResizerServiceRole: stores,
      SourceEventsServiceRole: [...stores, {
        Action: 'cloudfront:CreateInvalidation', Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distribution }]] },
      }],
      // CDK's own handler that writes the bucket's notification configuration.
      BucketNotificationsHandler050a0587b7544547bf325f094a3db834Role: [{ Action: 's3:PutBucketNotification', Effect: 'Allow', Resource: arn(sources) }],
    });
    for (const [, role] of ofType('AWS::IAM::Role')) {
      assert.deepEqual(role.Properties.AssumeRolePolicyDocument, { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }], Version: '2012-10-17' });
      assert.deepEqual(role.Properties.ManagedPolicyArns, [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']] }]);
    }
    // Anywhere in the template: an Allow never has a wildcard action or principal.
    const allows: Json[] = [];
    JSON.stringify(template.toJSON(), (_k, v: unknown) => {
      if (v && typeof v === 'object' && (v as Json).Effect === 'Allow') allows.push(v as Json);
      return v;
    });
    assert.ok(allows.length >= 9);
    for (const s of allows) {
      assert.ok(![s.Action].flat().some((a) => String(a).includes('*')), JSON.stringify(s));
      assert.ok(!JSON.stringify(s.Principal ?? {}).includes('"*"'), JSON.stringify(s));
    }
  });

  it('runs the resizer on nodejs22.x, arm64, with the parameters\' memory and timeout, behind an AWS_IAM function URL', () => {
    const resizer = logicalId('AWS::Lambda::Function', 'Resizer');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'handler.handler', MemorySize: 1536, Timeout: 30,
      Environment: { Variables: {
        RESIZER_SOURCE: { 'Fn::Join': ['', ['s3://', { Ref: logicalId('AWS::S3::Bucket', 'Sources') }]] },
        RESIZER_CACHE: { 'Fn::Join': ['', ['s3://', { Ref: logicalId('AWS::S3::Bucket', 'Derivatives') }]] },
        RESIZER_CONCURRENCY: '1', RESIZER_MEMORY_CACHE_MB: '0', RESIZER_PLAYGROUND: 'off', MALLOC_ARENA_MAX: '2',
      } },
    });
    assert.equal(resources[resizer]!.Properties.ReservedConcurrentExecutions, undefined);
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 's3-events.handler' });
    const url = only('AWS::Lambda::Url');
    assert.deepEqual(url.Properties, { AuthType: 'AWS_IAM', TargetFunctionArn: { 'Fn::GetAtt': [resizer, 'Arn'] } });
  });

  it('lets only this distribution invoke the function URL, and only the source bucket invoke the purger', () => {
    const distributionArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: logicalId('AWS::CloudFront::Distribution', 'Distribution') }]] };
    const permissions = ofType('AWS::Lambda::Permission').map(([, p]) => p.Properties);
    const urlFunction = { 'Fn::GetAtt': [logicalId('AWS::Lambda::Url', 'ResizerFunctionUrl'), 'FunctionArn'] };
    assert.deepEqual(permissions.filter((p) => p.Principal === 'cloudfront.amazonaws.com').map((p) => [p.Action, p.FunctionName, p.SourceArn]).sort(), [
      ['lambda:InvokeFunction', urlFunction, distributionArn],
      ['lambda:InvokeFunctionUrl', urlFunction, distributionArn],
    ]);
    const s3 = permissions.filter((p) => p.Principal === 's3.amazonaws.com');
    assert.deepEqual(s3, [{
      Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'SourceEvents'), 'Arn'] },
      Principal: 's3.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' }, SourceArn: arn(logicalId('AWS::S3::Bucket', 'Sources')),
    }]);
  });

  it('wires source creations and removals to the purger', () => {
    const purger = { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'SourceEvents'), 'Arn'] };
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: logicalId('AWS::S3::Bucket', 'Sources') },
      NotificationConfiguration: { LambdaFunctionConfigurations: [
        { Events: ['s3:ObjectCreated:*'], LambdaFunctionArn: purger },
        { Events: ['s3:ObjectRemoved:*'], LambdaFunctionArn: purger },
      ] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 's3-events.handler',
      Environment: { Variables: Match.objectLike({ RESIZER_CLOUDFRONT_DISTRIBUTION_ID: { Ref: logicalId('AWS::CloudFront::Distribution', 'Distribution') } }) },
    });
  });

  it('puts one origin group before everything: the bucket by S3 OAC, failing over on 403/404 to the URL by Lambda OAC', () => {
    const oac = Object.fromEntries(ofType('AWS::CloudFront::OriginAccessControl').map(([id, r]) => [id, r.Properties.OriginAccessControlConfig as Json]));
    const types = Object.values(oac).map((c) => [c.OriginAccessControlOriginType, c.SigningBehavior, c.SigningProtocol]).sort();
    assert.deepEqual(types, [['lambda', 'always', 'sigv4'], ['s3', 'always', 'sigv4']]);
    const oacOf = (type: string) => ({ 'Fn::GetAtt': [Object.keys(oac).find((id) => oac[id]!.OriginAccessControlOriginType === type)!, 'Id'] });

    const config = resources[logicalId('AWS::CloudFront::Distribution', 'Distribution')]!.Properties.DistributionConfig as Json;
    const originList = config.Origins as Json[];
    assert.equal(originList.length, 2);
    const bucketOrigin = originList.find((o) => o.S3OriginConfig)!;
    const urlOrigin = originList.find((o) => o.CustomOriginConfig)!;
    assert.deepEqual(bucketOrigin.DomainName, { 'Fn::GetAtt': [logicalId('AWS::S3::Bucket', 'Derivatives'), 'RegionalDomainName'] });
    assert.deepEqual(bucketOrigin.OriginAccessControlId, oacOf('s3'));
    assert.deepEqual(bucketOrigin.S3OriginConfig, { OriginAccessIdentity: '' });
    assert.deepEqual(urlOrigin.OriginAccessControlId, oacOf('lambda'));
    assert.deepEqual((urlOrigin.CustomOriginConfig as Json).OriginProtocolPolicy, 'https-only');
    assert.equal((urlOrigin.CustomOriginConfig as Json).OriginReadTimeout, 30, 'as long as the function\'s timeout');

    const groups = config.OriginGroups as { Quantity: number; Items: Json[] };
    assert.equal(groups.Quantity, 1);
    const group = groups.Items[0]!;
    assert.deepEqual(group.FailoverCriteria, { StatusCodes: { Items: [403, 404], Quantity: 2 } });
    assert.deepEqual(group.Members, { Items: [{ OriginId: bucketOrigin.Id }, { OriginId: urlOrigin.Id }], Quantity: 2 });

    const behavior = config.DefaultCacheBehavior as Json;
    assert.equal(behavior.TargetOriginId, group.Id);
    assert.equal(config.CacheBehaviors, undefined, 'one behaviour for every path');
    assert.deepEqual(behavior.AllowedMethods, ['GET', 'HEAD']);
    assert.equal(behavior.ViewerProtocolPolicy, 'redirect-to-https');
    assert.deepEqual(behavior.CachePolicyId, { Ref: logicalId('AWS::CloudFront::CachePolicy', 'CachePolicy') });
    assert.equal(behavior.OriginRequestPolicyId, undefined, 'nothing beyond the cache key reaches the origins');
    assert.deepEqual(behavior.FunctionAssociations, [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [logicalId('AWS::CloudFront::Function', 'ViewerRequest'), 'FunctionARN'] } }]);
  });

  it('runs the generated viewer-request function on cloudfront-js-2.0 and keys the cache on the path alone', () => {
    const fn = only('AWS::CloudFront::Function');
    assert.equal(fn.Properties.FunctionCode, code);
    assert.equal((fn.Properties.FunctionConfig as Json).Runtime, 'cloudfront-js-2.0');
    assert.equal(fn.Properties.AutoPublish, true);
    const policy = only('AWS::CloudFront::CachePolicy');
    const cfg = policy.Properties.CachePolicyConfig as { MinTTL: number; ParametersInCacheKeyAndForwardedToOrigin: Json };
    assert.equal(cfg.MinTTL, 0);
    assert.deepEqual(cfg.ParametersInCacheKeyAndForwardedToOrigin, {
      CookiesConfig: { CookieBehavior: 'none' }, HeadersConfig: { HeaderBehavior: 'none' }, QueryStringsConfig: { QueryStringBehavior: 'none' },
      EnableAcceptEncodingGzip: false, EnableAcceptEncodingBrotli: false,
    });
  });

  it('without signingKeysSecret, has no KeyValueStore, no origin request policy and no keys in any environment', () => {
    assert.equal(ofType('AWS::CloudFront::KeyValueStore').length, 0);
    assert.equal(ofType('AWS::CloudFront::OriginRequestPolicy').length, 0);
    assert.ok(!JSON.stringify(resources).includes('RESIZER_SIGNING_KEYS'));
  });

  it('with signingKeysSecret: a KeyValueStore the function reads, the Lambda\'s keys from the secret by reference, the edge\'s header forwarded', async () => {
    const context = { signingKeysSecret: 'resizer/signing-keys', presets: 'thumb=150x150,cover,webp', allowedWidths: '320,640', presetsOnly: 'false' };
    const parameters = parametersFrom((n) => (context as Record<string, string>)[n]);
    const signingCode = await viewerRequestCode(
      { maxOutputWidth: DEFAULTS.maxOutputWidth, maxOutputHeight: DEFAULTS.maxOutputHeight }, { rules: accessRules(parameters), signing: true },
    );
    assert.ok(signingCode.includes('["thumb","150x150,cover,webp"]') && signingCode.includes('[320,640]'), 'the rules are in the code');
    const t = synth(context, signingCode);
    const json = t.toJSON() as { Resources: Record<string, { Type: string; Properties: Json }>; Outputs: Record<string, { Value: unknown }> };
    const all = Object.entries(json.Resources);
    const stores = all.filter(([, r]) => r.Type === 'AWS::CloudFront::KeyValueStore');
    assert.equal(stores.length, 1);
    const [storeId] = stores[0]!;
    const fn = all.find(([, r]) => r.Type === 'AWS::CloudFront::Function')![1];
    // Associated with the function, and its ID (not the placeholder) in the code.
    assert.deepEqual((fn.Properties.FunctionConfig as Json).KeyValueStoreAssociations, [{ KeyValueStoreARN: { 'Fn::GetAtt': [storeId, 'Arn'] } }]);
    const codeJson = JSON.stringify(fn.Properties.FunctionCode);
    assert.ok(!codeJson.includes(KVS_ID_PLACEHOLDER), 'placeholder replaced');
    assert.ok(codeJson.includes(JSON.stringify({ 'Fn::GetAtt': [storeId, 'Id'] })), codeJson.slice(0, 200));
    // The resizer gets the keys by dynamic reference; the purger gets none; no role may read the secret.
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'handler.handler',
      Environment: { Variables: Match.objectLike({ RESIZER_SIGNING_KEYS: '{{resolve:secretsmanager:resizer/signing-keys:SecretString:::}}' }) },
    });
    t.hasResourceProperties('AWS::Lambda::Function', { Handler: 's3-events.handler', Environment: { Variables: Match.objectLike({ RESIZER_SIGNING_KEYS: Match.absent() }) } });
    assert.doesNotMatch(JSON.stringify(json.Resources), /"secretsmanager:[A-Z]/, 'no IAM statement on the secret');
    // The edge's signature header, and only it, reaches the origins; the cache key stays the path.
    const orp = all.filter(([, r]) => r.Type === 'AWS::CloudFront::OriginRequestPolicy');
    assert.equal(orp.length, 1);
    assert.deepEqual((orp[0]![1].Properties.OriginRequestPolicyConfig as Json).HeadersConfig, { HeaderBehavior: 'whitelist', Headers: ['x-resizer-signature'] });
    t.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ DefaultCacheBehavior: Match.objectLike({ OriginRequestPolicyId: { Ref: orp[0]![0] } }) }),
    });
    assert.deepEqual(json.Outputs.SigningKeyValueStoreArn?.Value, { 'Fn::GetAtt': [storeId, 'Arn'] });
    // Code and parameters must agree.
    assert.throws(() => synth(context), /generated with signing exactly when signingKeysSecret is set/);
    assert.throws(() => synth({}, signingCode), /generated with signing exactly when signingKeysSecret is set/);
    assert.throws(() => parametersFrom((n) => ({ presetsOnly: 'true' } as Record<string, string>)[n]), /-c presetsOnly: needs -c presets/);
    assert.throws(() => parametersFrom((n) => ({ presets: 'cover=300x' } as Record<string, string>)[n]), /already an option's word/);
  });

  it('takes existing buckets, x64, reserved concurrency, no expiry and no invalidation as parameters', () => {
    const t = synth({
      sourceBucketName: 'img-sources', derivativeBucketName: 'img-resized', architecture: 'x64', reservedConcurrency: '20',
      memoryMb: '2048', timeoutSeconds: '60', invalidateOnChange: 'false', derivativeExpiryDays: '0', pregenerate: '400x300 200x,webp',
    });
    const json = t.toJSON() as { Resources: Record<string, { Type: string; Properties: Json }> };
    assert.equal(Object.values(json.Resources).filter((r) => r.Type === 'AWS::S3::Bucket').length, 0);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'handler.handler', Architectures: ['x86_64'], MemorySize: 2048, Timeout: 60, ReservedConcurrentExecutions: 20,
      Environment: { Variables: Match.objectLike({ RESIZER_SOURCE: 's3://img-sources', RESIZER_CACHE: 's3://img-resized' }) },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 's3-events.handler',
      Environment: { Variables: Match.objectLike({ RESIZER_PREGENERATE: '400x300 200x,webp', RESIZER_CLOUDFRONT_DISTRIBUTION_ID: Match.absent() }) },
    });
    assert.ok(!JSON.stringify(json).includes('cloudfront:CreateInvalidation'));
    assert.throws(() => parametersFrom((n) => ({ pregenerate: '0x1' })[n]), /Expected a width between 1 and 8192/);
    assert.throws(() => parametersFrom((n) => ({ memoryMb: 'lots' })[n]), /-c memoryMb: expected an integer/);
    assert.throws(() => parametersFrom((n) => ({ timeoutSeconds: '61' })[n]), /-c timeoutSeconds: expected an integer from 1 to 60/);
  });
});
