/** The typed result of parsing a transform segment. Absent fields mean "the default". */
export interface TransformSpec {
  /** Target box in CSS pixels (before dpr). */
  width?: number;
  height?: number;
}

/** Limits the parser needs to refuse impossible requests early (400), before any I/O. */
export interface ParseLimits {
  maxOutputWidth: number;
  maxOutputHeight: number;
}
