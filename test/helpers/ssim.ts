/** The product's SSIM, re-exported for tests that compare images. */
export { ssim, ssimGrey } from '../../src/quality/ssim.js';
