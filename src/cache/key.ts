/** The tutorial's layout: the derivative of `/{segment}/{key}` lives at `{canonical segment}/{key}`. */
export function derivativeKey(canonicalSegment: string, sourceKey: string): string {
  return `${canonicalSegment}/${sourceKey}`;
}
