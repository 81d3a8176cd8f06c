/**
 * HTML built by tagged templates: every interpolated value is escaped unless it is itself
 * `Html` (made by `html` or `raw`), so text from webhooks, agents or records can never become
 * markup. Arrays are joined; `null`, `undefined` and `false` render as nothing.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Renderable = Html | string | number | boolean | null | undefined | Renderable[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] as string);
}

function render(value: Renderable): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let text = strings[0] as string;
  for (let i = 0; i < values.length; i++) {
    text += render(values[i] as Renderable) + (strings[i + 1] as string);
  }
  return new Html(text);
}

/** Markup the caller vouches for (built by this module's own code, never from input). */
export function raw(text: string): Html {
  return new Html(text);
}
