import { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { accessRulesOf } from '../../../src/config/access.js';
import { DEFAULTS } from '../../../src/config/index.js';
import type { AccessRules } from '../../../src/url/gate.js';
import { parseSegment } from '../../../src/url/segment.js';
import type { ResizerParameters } from './stack.js';

/** Context values arrive as strings from `-c`, as JSON values from cdk.json: both are accepted, anything else refused. */
export function parametersFrom(get: (name: string) => unknown): ResizerParameters {
  const text = (name: string): string | undefined => {
    const v = get(name);
    return v === undefined || v === '' ? undefined : String(v);
  };
  const int = (name: string, fallback: number | undefined, min: number, max: number): number | undefined => {
    const v = text(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`-c ${name}: expected an integer from ${min} to ${max}, received ${v}`);
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = text(name);
    if (v === undefined) return fallback;
    if (v !== 'true' && v !== 'false') throw new Error(`-c ${name}: expected true or false, received ${v}`);
    return v === 'true';
  };
  const architecture = text('architecture') ?? 'arm64';
  if (architecture !== 'arm64' && architecture !== 'x64') throw new Error(`-c architecture: expected arm64 or x64, received ${architecture}`);
  const priceClasses: Record<string, PriceClass> = { '100': PriceClass.PRICE_CLASS_100, '200': PriceClass.PRICE_CLASS_200, all: PriceClass.PRICE_CLASS_ALL };
  const priceClass = priceClasses[text('priceClass') ?? '100'];
  if (!priceClass) throw new Error(`-c priceClass: expected 100, 200 or all, received ${text('priceClass')}`);
  const pregenerate = (text('pregenerate') ?? '').split(/\s+/).filter(Boolean);
  const access = {
    presets: text('presets') ?? '', allowedWidths: text('allowedWidths') ?? '', allowedHeights: text('allowedHeights') ?? '',
    allowedSegments: text('allowedSegments') ?? '', presetsOnly: bool('presetsOnly', false),
  };
  // The server's own parsing of the same settings (RESIZER_PRESETS, ...): a bad one fails `cdk synth`, naming it.
  try {
    accessRules({ ...access, signingKeysSecret: undefined });
  } catch (err) {
    throw new Error(`-c presets / allowedSegments: ${(err as Error).message}`, { cause: err });
  }
  if (access.presetsOnly && !access.presets) throw new Error('-c presetsOnly: needs -c presets');
  // Checked here too, so a typo fails `cdk synth` rather than every upload.
  for (const segment of pregenerate) parseSegment(segment, { maxOutputWidth: DEFAULTS.maxOutputWidth, maxOutputHeight: DEFAULTS.maxOutputHeight });
  return {
    sourceBucketName: text('sourceBucketName'),
    derivativeBucketName: text('derivativeBucketName'),
    derivativeExpiryDays: int('derivativeExpiryDays', 90, 0, 36500)!,
    architecture,
    memoryMb: int('memoryMb', 1536, 128, 10240)!,
    // CloudFront's origin read timeout is at most 60 s (without a quota increase): longer would be cut there.
    timeoutSeconds: int('timeoutSeconds', 30, 1, 60)!,
    reservedConcurrency: int('reservedConcurrency', undefined, 1, 10000),
    invalidateOnChange: bool('invalidateOnChange', true),
    pregenerate,
    priceClass,
    signingKeysSecret: text('signingKeysSecret'),
    ...access,
  };
}

/** The rules the viewer-request function enforces, parsed as the server parses its RESIZER_* settings. */
export function accessRules(p: Pick<ResizerParameters, 'presets' | 'allowedWidths' | 'allowedHeights' | 'allowedSegments' | 'presetsOnly' | 'signingKeysSecret'>): AccessRules {
  return accessRulesOf({
    signingKeys: '', signingKeyFile: '', presets: p.presets, allowedWidths: p.allowedWidths, allowedHeights: p.allowedHeights,
    allowedSegments: p.allowedSegments, presetsOnly: p.presetsOnly, production: false,
    maxOutputWidth: DEFAULTS.maxOutputWidth, maxOutputHeight: DEFAULTS.maxOutputHeight,
  });
}
