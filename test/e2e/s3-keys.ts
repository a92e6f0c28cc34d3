import { derivativeKey } from '../../src/keys/index.js';
import { DEFAULTS } from '../../src/config/index.js';
import { buildSegment, parseSegment } from '../../src/url/segment.js';

/** The derivative key the app stores `/{segment}/{key}` under: the canonical segment, then the source key. */
export function storedKeyOf(segment: string, sourceKey: string): string {
  const spec = parseSegment(segment, { maxOutputWidth: DEFAULTS.maxOutputWidth, maxOutputHeight: DEFAULTS.maxOutputHeight });
  return derivativeKey(buildSegment(spec), sourceKey);
}
