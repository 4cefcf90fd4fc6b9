/**
 * A bare GET for probing etcd and kube-apiserver health and authentication. Node's fetch cannot be
 * given a private CA without the undici package, and the harness must check the apiserver's real
 * self-signed certificate rather than switch verification off.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpGetOptions {
  /** PEM of the CA that signed the server's certificate (https only). */
  readonly ca?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly timeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export function httpGet(
  url: string,
  { ca, token, timeoutMs = 5_000 }: HttpGetOptions = {},
): Promise<HttpResponse> {
  const request = new URL(url).protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
