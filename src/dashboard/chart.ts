import { escapeHtml, type Html, html, raw } from './html.js';

/** One series of a chart: its name in the legend, its colour class, its value per bucket. */
export interface ChartSeries {
  readonly name: string;
  /** `a`–`d`: the colour (dashboard.css `.bar-a`…). */
  readonly colour: 'a' | 'b' | 'c' | 'd';
  readonly values: readonly number[];
}

const WIDTH = 640;
const HEIGHT = 150;
const AXIS = 28;

/**
 * Counts over time as stacked bars, drawn as inline SVG by the server (no script, no CDN), with
 * a legend and a text summary for screen readers. `labels` names each bucket (its start time).
 */
export function barChart(
  title: string,
  labels: readonly string[],
  series: readonly ChartSeries[],
): Html {
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const top = Math.max(1, ...totals);
  const step = (WIDTH - AXIS) / Math.max(1, labels.length);
  const bar = Math.max(1, step * 0.8);
  const scale = (HEIGHT - 20) / top;
  const rects: string[] = [];
  labels.forEach((label, i) => {
    let y = HEIGHT - 14;
    for (const s of series) {
      const value = s.values[i] ?? 0;
      if (value === 0) continue;
      const h = value * scale;
      y -= h;
      rects.push(
        `<rect class="bar-${s.colour}" x="${(AXIS + i * step).toFixed(1)}" y="${y.toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}"><title>${escapeHtml(`${label}: ${value} ${s.name}`)}</title></rect>`,
      );
    }
  });
  const sums = series.map((s) => `${s.values.reduce((a, b) => a + b, 0)} ${s.name}`).join(', ');
  return html`<figure class="chart-figure">
    <svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${title}: ${sums}">
      <text x="0" y="10">${top}</text>
      <text x="0" y="${HEIGHT - 14}">0</text>
      <line x1="${AXIS - 2}" x2="${WIDTH}" y1="${HEIGHT - 14}" y2="${HEIGHT - 14}" stroke="#d9dee5"></line>
      ${raw(rects.join(''))}
      <text x="${AXIS}" y="${HEIGHT - 2}">${labels[0] ?? ''}</text>
      <text x="${WIDTH}" y="${HEIGHT - 2}" text-anchor="end">${labels.at(-1) ?? ''}</text>
    </svg>
    <figcaption>
      <ul class="legend">${series.map(
        (s) => html`<li><i class="key-${s.colour}"></i>${s.name}</li>`,
      )}</ul>
    </figcaption>
  </figure>`;
}
