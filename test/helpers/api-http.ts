/**
 * A minimal client of the browser-mode API over HTTP, as a script or a colleague's tool would call it:
 * `Authorization: Bearer <token>` and a JSON body, one kept-alive connection per concurrent call.
 * No vitest imports: the benchmarks use it too.
 */
import http from 'node:http';

export interface HttpApi {
  call<T = unknown>(command: string, input?: unknown): Promise<T>;
  close(): void;
}

export class HttpApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** From the URL `tessera serve` prints (http://127.0.0.1:PORT/?token=...). */
export function httpApi(launchUrl: string): HttpApi {
  const url = new URL(launchUrl);
  const token = url.searchParams.get('token') ?? '';
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  return {
    call<T>(command: string, input: unknown = {}): Promise<T> {
      const body = JSON.stringify(input);
      return new Promise<T>((resolve, reject) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            path: `/api/${command}`,
            method: 'POST',
            agent,
            headers: {
              Authorization: `Bearer ${token}`,
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(body),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => {
              try {
                const result = JSON.parse(Buffer.concat(chunks).toString('utf8')) as
                  { ok: true; value: T } | { ok: false; error: { code: string; message: string } };
                if (result.ok) resolve(result.value);
                else reject(new HttpApiError(result.error.code, result.error.message));
              } catch (err) {
                reject(err as Error);
              }
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
