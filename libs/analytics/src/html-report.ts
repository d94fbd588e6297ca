import { KPI_COLUMNS, type KpiRow } from './kpis.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const CHARTS: readonly [keyof KpiRow, string, boolean][] = [
  ['offered', 'Offered', false],
  ['answered', 'Answered', false],
  ['abandonRate', 'Abandon rate', true],
  ['averageSpeedOfAnswerSeconds', 'Average speed of answer (s)', false],
  ['averageHandleSeconds', 'Average handle time (s)', false],
  ['serviceLevel', 'Service level', true],
  ['occupancy', 'Occupancy', true],
];
const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#2c7a7b', '#975a16', '#4a5568'];

/** One bar chart (SVG): a bar per interval, one colour per group. */
function chart(rows: readonly KpiRow[], key: keyof KpiRow, title: string, percent: boolean): string {
  const groups = [...new Set(rows.map((r) => r.group))].sort();
  const intervals = [...new Set(rows.map((r) => r.intervalStart ?? 'all'))].sort();
  const values = rows.map((r) => (r[key] as number | null) ?? 0);
  const max = Math.max(percent ? 1 : 1, ...values);
  const W = 640;
  const H = 180;
  const pad = 30;
  const slot = (W - pad) / Math.max(1, intervals.length);
  const bar = Math.max(2, (slot - 4) / Math.max(1, groups.length));
  const bars = rows
    .map((r) => {
      const x = pad + intervals.indexOf(r.intervalStart ?? 'all') * slot + groups.indexOf(r.group) * bar;
      const v = (r[key] as number | null) ?? 0;
      const h = ((H - 30) * v) / max;
      const label = `${r.group} ${r.intervalStart ?? ''}: ${percent ? `${(v * 100).toFixed(1)}%` : v.toFixed(1)}`;
      return `<rect x="${x.toFixed(1)}" y="${(H - 20 - h).toFixed(1)}" width="${(bar - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[groups.indexOf(r.group) % COLORS.length]}"><title>${esc(label)}</title></rect>`;
    })
    .join('');
  const axis = `<line x1="${pad}" y1="${H - 20}" x2="${W}" y2="${H - 20}" stroke="#999"/><text x="0" y="12" font-size="10">${percent ? `${(max * 100).toFixed(0)}%` : max.toFixed(0)}</text><text x="0" y="${H - 22}" font-size="10">0</text>`;
  const ticks = intervals
    .map((iv, i) => (i % Math.ceil(intervals.length / 8) === 0 ? `<text x="${(pad + i * slot).toFixed(1)}" y="${H - 5}" font-size="9">${esc(iv === 'all' ? 'all' : iv.slice(11, 16))}</text>` : ''))
    .join('');
  const legend = groups.map((g, i) => `<span style="color:${COLORS[i % COLORS.length]}">■</span> ${esc(g)}`).join(' &nbsp; ');
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${axis}${bars}${ticks}</svg><div class="legend">${legend}</div></figure>`;
}

/** A self-contained page (inline CSS and SVG, no scripts, no CDN) with the KPI table and a chart per figure. */
export function kpiHtmlReport(rows: readonly KpiRow[], meta: { title: string; generatedAt: string; by: string; interval: string | null; serviceLevelSeconds: number }): string {
  const cell = (r: KpiRow, c: (typeof KPI_COLUMNS)[number]) => {
    const v = r[c.key];
    if (c.kind === 't') return esc(String(v ?? 'all'));
    if (v === null || v === undefined) return '-';
    return c.kind === '%' ? `${((v as number) * 100).toFixed(1)}%` : c.kind === 's' ? (v as number).toFixed(1) : String(v);
  };
  const table = `<table><thead><tr>${KPI_COLUMNS.map((c) => `<th>${esc(c.title)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${KPI_COLUMNS.map((c) => `<td>${cell(r, c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(meta.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.3rem}.legend{font-size:12px}</style>
</head><body>
<h1>${esc(meta.title)}</h1>
<p>By ${esc(meta.by)}${meta.interval ? `, every ${esc(meta.interval)}` : ''}; service level = answered within ${meta.serviceLevelSeconds} s. Generated ${esc(meta.generatedAt)}.</p>
${table}
${CHARTS.map(([k, t, p]) => chart(rows, k, t, p)).join('\n')}
</body></html>
`;
}
