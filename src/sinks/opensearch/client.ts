import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Client, type ClientOptions, Connection } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws';
import { resolveSecret } from '../../config/secrets.js';
import type { OpenSearchSinkConfig } from './schema.js';

/**
 * The official client with the configured authentication. Retries are off: the core retries
 * per document with backoff, and the client's own retries would resend whole bodies.
 */
export async function createClient(cfg: OpenSearchSinkConfig): Promise<Client> {
  const opts: ClientOptions = {
    node: cfg.endpoint,
    maxRetries: 0,
    requestTimeout: cfg.request_timeout,
    // One node behind a load balancer is the common case; never hold a request back waiting
    // for a "dead" node to be pinged back to life.
    resurrectStrategy: 'none',
    Connection: cappedConnection(cfg.max_response_bytes),
    ...(cfg.compression ? { compression: 'gzip' as const } : {}),
  };
  if (cfg.tls)
    opts.ssl = {
      ...(cfg.tls.ca_file ? { ca: await readFile(cfg.tls.ca_file, 'utf8') } : {}),
      rejectUnauthorized: !cfg.tls.insecure_skip_verify,
    };
  const a = cfg.auth;
  if (a && 'basic' in a) {
    const password = await resolveSecret(a.basic.password);
    opts.auth = { username: a.basic.username, password: password.reveal() };
  } else if (a && 'api_key' in a) {
    const key = await resolveSecret(a.api_key);
    opts.headers = { authorization: `ApiKey ${key.reveal()}` };
  } else if (a && 'aws' in a) {
    const fixed = a.aws.credentials;
    const secret = fixed ? await resolveSecret(fixed.secret_access_key) : undefined;
    Object.assign(
      opts,
      AwsSigv4Signer({
        region: a.aws.region,
        service: a.aws.service,
        getCredentials: fixed
          ? async () => ({ accessKeyId: fixed.access_key_id, secretAccessKey: secret!.reveal() })
          : async () => {
              const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
              return defaultProvider()();
            },
      }),
    );
  }
  return new Client(opts);
}

type RequestArgs = Parameters<Connection['request']>;

/**
 * The client reads a response body whole and without a limit (chunked answers have no
 * content-length for it to check), so a hostile or broken endpoint could fill memory: this
 * connection breaks the response off past `maxBytes`, which the sink sees as a failed request.
 */
function cappedConnection(maxBytes: number): typeof Connection {
  return class CappedConnection extends Connection {
    override request(params: RequestArgs[0], callback: RequestArgs[1]) {
      return super.request(params, (err: Error | null, response: IncomingMessage | null) => {
        if (response) {
          let size = 0;
          // Listening here first is safe: the client adds its own listeners in this same tick.
          response.on('data', (chunk: Buffer | string) => {
            size += chunk.length;
            if (size <= maxBytes || response.destroyed) return;
            // The client's 'error' listener turns this into its failure, with our reason.
            response.emit('error', new Error(`response is over the ${maxBytes}-byte limit`));
            response.destroy();
          });
        }
        callback(err, response);
      });
    }
  };
}

/** Where the sink sends, for messages: scheme, host and port only (never credentials or paths). */
export function describeEndpoint(endpoint: string | string[]): string {
  const first = Array.isArray(endpoint) ? endpoint[0]! : endpoint;
  try {
    const u = new URL(first);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'the configured endpoint';
  }
}
