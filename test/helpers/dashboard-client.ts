/** A browser's part of the dashboard, over real HTTP: a cookie jar, forms, the CSRF field. */
export class DashboardClient {
  readonly cookies = new Map<string, string>();

  constructor(public base: string) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.#send(path, { method: 'GET', headers });
  }

  /** Posts a form as a browser would: form-encoded, cookies sent, redirects not followed. */
  async post(
    path: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return this.#send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** The CSRF token of the form on `path` (the page sets the matching secret cookie). */
  async csrfFrom(path: string): Promise<string> {
    const page = await (await this.get(path)).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    if (!token) throw new Error(`no CSRF field on ${path}`);
    return token;
  }

  /** Signs in with `token`; the response of the sign-in post. */
  async signIn(token: string): Promise<Response> {
    const csrf = await this.csrfFrom('/ui/sign-in');
    return this.post('/ui/sign-in', { _csrf: csrf, token, next: '/ui' });
  }

  async #send(path: string, init: RequestInit): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(new URL(path, this.base), {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
}
