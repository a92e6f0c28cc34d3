import { s3EventHandlerFromEnv } from './s3-events.js';

/** The Lambda entry point for S3 notifications of the source bucket (`s3-events-handler.handler`), built once per container. */
export const handler = await s3EventHandlerFromEnv();
