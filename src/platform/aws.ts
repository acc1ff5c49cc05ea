import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsClientOptions } from '../config/common.js';

/**
 * Options for any AWS SDK v3 client. With an endpoint (emulators, VPC endpoints) the client gets
 * an HTTP/1.1 handler: the Kinesis client's default HTTP/2 breaks against emulators.
 */
export function awsClientConfig(o: AwsClientOptions = {}) {
  return {
    ...(o.region ? { region: o.region } : {}),
    ...(o.endpoint ? { endpoint: o.endpoint, requestHandler: new NodeHttpHandler() } : {}),
    ...(o.credentials
      ? {
          credentials: {
            accessKeyId: o.credentials.access_key_id,
            secretAccessKey: o.credentials.secret_access_key,
          },
        }
      : {}),
    ...(o.force_path_style !== undefined ? { forcePathStyle: o.force_path_style } : {}),
  };
}
