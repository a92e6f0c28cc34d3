import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type { Construct } from 'constructs';
import { EDGE_SIGNATURE_HEADER } from '../../../src/url/signature.js';
import { KVS_ID_PLACEHOLDER } from './viewer-request-code.js';

/** The deployment's parameters (CDK context, see bin/app.ts and the README). */
export interface ResizerParameters {
  /** Use these existing buckets instead of creating them. */
  sourceBucketName?: string;
  derivativeBucketName?: string;
  /** Derivatives are deleted this many days after they were made (0: kept until purged). */
  derivativeExpiryDays: number;
  architecture: 'arm64' | 'x64';
  memoryMb: number;
  timeoutSeconds: number;
  /** Reserved concurrency of the resizing function (undefined: none, the account's pool). */
  reservedConcurrency?: number;
  /** CloudFront invalidation of a changed source's derivatives (costs per path past 1,000 a month). */
  invalidateOnChange: boolean;
  /** Options segments made when a source is uploaded, e.g. ['400x300', '200x,webp']. */
  pregenerate: string[];
  priceClass: cloudfront.PriceClass;
  /**
   * Signed URLs: a Secrets Manager secret (name or ARN) holding the signing keys, comma-separated, the signing key
   * first. The Lambda gets them from it at deploy time; the viewer-request function reads the same list from the
   * stack's KeyValueStore (put there by the operator, see the README). Undefined: no signing.
   */
  signingKeysSecret?: string;
  /** The edge's presets and size rules, in the server's syntax (RESIZER_PRESETS, RESIZER_ALLOWED_*, RESIZER_PRESETS_ONLY). */
  presets: string;
  allowedWidths: string;
  allowedHeights: string;
  allowedSegments: string;
  presetsOnly: boolean;
}

export interface ResizerStackProps extends StackProps {
  parameters: ResizerParameters;
  /** The folder `npm run build:lambda` made for this architecture. */
  lambdaAssetDir: string;
  /** The viewer-request function's code (lib/viewer-request-code.ts), with signing when signingKeysSecret is set. */
  viewerRequestCode: string;
}

/**
 * The tutorial's system in one stack: sources and derivatives in private buckets, CloudFront in front with one
 * origin group (the derivative bucket, failing over on 403/404 to the resizing Lambda's function URL, both behind
 * Origin Access Control), and S3 notifications that purge a changed source's derivatives.
 */
export class ResizerStack extends Stack {
  constructor(scope: Construct, id: string, props: ResizerStackProps) {
    super(scope, id, props);
    const p = props.parameters;

    const sources = p.sourceBucketName
      ? s3.Bucket.fromBucketName(this, 'Sources', p.sourceBucketName)
      : new s3.Bucket(this, 'Sources', {
        ...PRIVATE_BUCKET,
        // Sources are the originals: never deleted with the stack.
        removalPolicy: RemovalPolicy.RETAIN,
      });
    const derivatives = p.derivativeBucketName
      ? s3.Bucket.fromBucketName(this, 'Derivatives', p.derivativeBucketName)
      : new s3.Bucket(this, 'Derivatives', {
        ...PRIVATE_BUCKET,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: p.derivativeExpiryDays > 0 ? [{ id: 'expire-derivatives', expiration: Duration.days(p.derivativeExpiryDays) }] : [],
      });

    const environment = {
      RESIZER_SOURCE: `s3://${sources.bucketName}`,
      RESIZER_CACHE: `s3://${derivatives.bucketName}`,
      // One request per instance: one transform at a time gets every libvips thread.
      RESIZER_CONCURRENCY: '1',
      // CloudFront asks only on a bucket miss, so an in-process hot set would rarely hit and could outlive a purge.
      RESIZER_MEMORY_CACHE_MB: '0',
      // No playground behind a public CDN (the edge refuses /_/ paths too).
      RESIZER_PLAYGROUND: 'off',
      // The README's glibc setting against fragmentation by progressive JPEGs.
      MALLOC_ARENA_MAX: '2',
    };
    // The keys the edge checks with, so the resizing Lambda (only it: the purger signs nothing) verifies the edge's
    // signature of each request it forwards. A dynamic reference, resolved by CloudFormation at deploy: no role
    // needs access to the secret. Presets and size rules stay at the edge: what reaches the Lambda is already
    // expanded and signed.
    const signing: Record<string, string> = p.signingKeysSecret ? { RESIZER_SIGNING_KEYS: SecretValue.secretsManager(p.signingKeysSecret).unsafeUnwrap() } : {};
    const architecture = p.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const code = lambda.Code.fromAsset(props.lambdaAssetDir);

    const resizer = new lambda.Function(this, 'Resizer', {
      description: 'resizer: makes a missing derivative (CloudFront origin failover)',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture,
      code,
      handler: 'handler.handler',
      memorySize: p.memoryMb,
      timeout: Duration.seconds(p.timeoutSeconds),
      reservedConcurrentExecutions: p.reservedConcurrency,
      environment: { ...environment, ...signing },
    });
    grantStores(resizer, sources, derivatives);
    const url = resizer.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });

    if (Boolean(p.signingKeysSecret) !== props.viewerRequestCode.includes(KVS_ID_PLACEHOLDER)) {
      throw new Error('The viewer-request code must be generated with signing exactly when signingKeysSecret is set');
    }
    // The edge's signing keys, read by the function at each request: the operator puts them (see the README).
    const keyStore = p.signingKeysSecret
      ? new cloudfront.KeyValueStore(this, 'SigningKeys', { comment: 'resizer: signing-keys, comma-separated, the signing key first' })
      : undefined;
    const viewerRequest = new cloudfront.Function(this, 'ViewerRequest', {
      comment: 'resizer: signatures, presets and size rules; canonical options segment, auto format from Accept, no /_/',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(keyStore
        ? props.viewerRequestCode.split(KVS_ID_PLACEHOLDER).join(keyStore.keyValueStoreId)
        : props.viewerRequestCode),
      keyValueStore: keyStore,
    });
    // The function's signature of what it forwards goes to the origins (the bucket ignores it); nothing else does.
    const originRequestPolicy = keyStore
      ? new cloudfront.OriginRequestPolicy(this, 'OriginRequestPolicy', {
        comment: 'resizer: the edge signature header',
        headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(EDGE_SIGNATURE_HEADER),
        cookieBehavior: cloudfront.OriginRequestCookieBehavior.none(),
        queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.none(),
      })
      : undefined;
    // The URL is canonical and `auto` already resolved by the function, so nothing else may split the cache:
    // no headers, cookies or query strings, and no Accept-Encoding (images are compressed already).
    const cachePolicy = new cloudfront.CachePolicy(this, 'CachePolicy', {
      comment: 'resizer: the canonical path is the whole key',
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      enableAcceptEncodingGzip: false,
      enableAcceptEncodingBrotli: false,
      // Zero minimum: the Lambda's `no-cache` redirects (over 6 MB) and `no-store` errors are not kept.
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.days(365),
      maxTtl: Duration.days(365),
    });
    const distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'resizer',
      priceClass: p.priceClass,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: new origins.OriginGroup({
          primaryOrigin: origins.S3BucketOrigin.withOriginAccessControl(derivatives),
          // CloudFront waits as long as the function may run (it closes the connection at its read timeout).
          fallbackOrigin: origins.FunctionUrlOrigin.withOriginAccessControl(url, { readTimeout: Duration.seconds(p.timeoutSeconds) }),
          // The bucket answers 403 for a missing key to a reader without s3:ListBucket (CloudFront), 404 otherwise.
          fallbackStatusCodes: [403, 404],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
        compress: false,
        cachePolicy,
        originRequestPolicy,
        functionAssociations: [{ function: viewerRequest, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
    });

    const events = new lambda.Function(this, 'SourceEvents', {
      description: 'resizer: purges the derivatives of a changed source',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture,
      code,
      handler: 's3-events.handler',
      memorySize: p.memoryMb,
      timeout: Duration.seconds(Math.max(60, p.timeoutSeconds)),
      environment: {
        ...environment,
        ...(p.invalidateOnChange ? { RESIZER_CLOUDFRONT_DISTRIBUTION_ID: distribution.distributionId } : {}),
        ...(p.pregenerate.length ? { RESIZER_PREGENERATE: p.pregenerate.join(' ') } : {}),
      },
    });
    grantStores(events, sources, derivatives);
    if (p.invalidateOnChange) {
      events.addToRolePolicy(new iam.PolicyStatement({
        actions: ['cloudfront:CreateInvalidation'],
        resources: [distribution.distributionArn],
      }));
    }
    const destination = new s3n.LambdaDestination(events);
    sources.addEventNotification(s3.EventType.OBJECT_CREATED, destination);
    sources.addEventNotification(s3.EventType.OBJECT_REMOVED, destination);

    new CfnOutput(this, 'DistributionUrl', { value: `https://${distribution.distributionDomainName}` });
    new CfnOutput(this, 'SourceBucketName', { value: sources.bucketName });
    new CfnOutput(this, 'DerivativeBucketName', { value: derivatives.bucketName });
    if (keyStore) new CfnOutput(this, 'SigningKeyValueStoreArn', { value: keyStore.keyValueStoreArn });
  }
}

const PRIVATE_BUCKET: s3.BucketProps = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
};

/**
 * Exactly what the app does with the stores: read sources; read, write and delete derivatives; list both (without
 * s3:ListBucket S3 answers a missing key with 403, not 404, and a purge lists the derivative bucket's segments).
 */
function grantStores(fn: lambda.Function, sources: s3.IBucket, derivatives: s3.IBucket): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [sources.arnForObjects('*')] }));
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
    resources: [derivatives.arnForObjects('*')],
  }));
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [sources.bucketArn, derivatives.bucketArn] }));
}
