import { TRACE_LIMIT, type Trace } from '../trace/index.js';

/**
 * A trace as a timeline, one line per step: time (UTC, to the millisecond), step, subject,
 * summary, in aligned columns. A line with the date comes first and wherever the date changes.
 */
export function printTrace(trace: Trace): string {
  const { query, events, actions, audit, timeline } = trace;
  const counts = [
    plural(events.length, 'event'),
    plural(actions.length, 'action'),
    plural(audit.length, 'audit entry', 'audit entries'),
  ].join(', ');
  const lines = [`why ${query.id} (${query.kind}): ${counts}`];
  if (trace.truncated) {
    lines.push(`only the newest ${TRACE_LIMIT} events and ${TRACE_LIMIT} actions of the record`);
  }
  const stepWidth = Math.max(...timeline.map((step) => step.step.length));
  const subjectWidth = Math.max(...timeline.map((step) => step.subject.length));
  let day = '';
  for (const step of timeline) {
    const [date = '', time = ''] = step.at.split('T');
    if (date !== day) {
      day = date;
      lines.push(`${date} (UTC)`);
    }
    lines.push(
      [
        time.replace('Z', ''),
        step.step.padEnd(stepWidth),
        step.subject.padEnd(subjectWidth),
        step.summary,
      ].join('  '),
    );
  }
  return `${lines.join('\n')}\n`;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
