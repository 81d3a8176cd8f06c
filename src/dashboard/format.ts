import { type Html, html } from './html.js';

/** A moment as UTC text a person reads, in a `<time>` a machine reads. */
export function time(at: string | number | null | undefined): Html {
  if (at === null || at === undefined) return html`<span class="none">—</span>`;
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return html`${String(at)}`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}</time>`;
}

/** A JSON value, pretty-printed, for params, fields and errors. */
export function json(value: unknown): Html {
  if (value === undefined) return html`<span class="none">absent</span>`;
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

/** `system:type:id` of a record ref as agents send it. */
export function recordText(ref: unknown): string {
  if (ref && typeof ref === 'object') {
    const { system, type, id } = ref as Record<string, unknown>;
    return `${String(system)}:${String(type)}:${String(id)}`;
  }
  return '';
}

/** A link to the trace of any id. */
export function traceLink(id: string, text: string = id): Html {
  return html`<a href="/ui/trace?id=${encodeURIComponent(id)}">${text}</a>`;
}

/** A status as a coloured label; `kind` picks the colour. */
export function badge(status: string): Html {
  return html`<span class="status status-${status}">${status.replaceAll('_', ' ')}</span>`;
}

/** An error message as a sentence: capitalised, with a full stop. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  // Only a plain word is capitalised: an id (evt_01…) or a name first must stay as it is.
  const start = /^[a-z]+\b(?![_-])/.test(trimmed)
    ? `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}`
    : trimmed;
  return `${start}${/[.!?]$/.test(trimmed) ? '' : '.'}`;
}

/**
 * A labelled `<select>` of a filter form: "all" (the empty value) first unless `all` is false,
 * then `options` (value and label), `value` selected.
 */
export function filterSelect(
  name: string,
  label: string,
  options: readonly (string | readonly [value: string, label: string])[],
  value: string,
  all = true,
): Html {
  return html`<label for="${name}">${label}</label>
    <select id="${name}" name="${name}">
      ${all ? html`<option value="">all</option>` : ''}
      ${options.map((option) => {
        const [optionValue, optionLabel] =
          typeof option === 'string' ? [option, option.replaceAll('_', ' ')] : option;
        return html`<option value="${optionValue}"${optionValue === value ? html` selected` : ''}>${optionLabel}</option>`;
      })}
    </select>`;
}
