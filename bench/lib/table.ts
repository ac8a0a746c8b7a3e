/**
 * Results: what each variant measured, and the rows that compare ours with a baseline
 * measured in the same run (ratio = ours ÷ baseline, whatever the unit; the `better`
 * field says whether a higher or a lower value, and so ratio, is the good direction).
 */

export type Better = "higher" | "lower";
export type Status = "ok" | "timeout" | "error";

/** One figure of one variant. */
export interface Measurement {
  scenario: string;
  direction: string;
  variant: string;
  value: number | null;
  unit: string;
  better: Better;
  status: Status;
  note?: string;
  /** Raw repetitions (or per-run details) behind `value`. */
  samples?: number[];
}

/** One line of the report. */
export interface Row {
  name: string;
  direction: string;
  /** Which of our variants (`webrtc`, `webrtc[node-datachannel]`, `websocket` when it is the subject). */
  ours: string;
  value: number | null;
  unit: string;
  better: Better;
  status: Status;
  baseline?: string;
  baselineValue?: number | null;
  baselineStatus?: Status;
  ratio?: number | null;
  note?: string;
}

/** Which variant is compared with which: [subject, baseline]. */
export type Comparison = readonly [string, string];

/** Rows for every (scenario, direction) in `measurements`, in first-seen order. */
export function compareAll(measurements: readonly Measurement[], comparisons: readonly Comparison[]): Row[] {
  const groups = new Map<string, Map<string, Measurement>>();
  for (const m of measurements) {
    const key = `${m.scenario}\u0000${m.direction}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = new Map()));
    group.set(m.variant, m);
  }
  const rows: Row[] = [];
  for (const group of groups.values()) {
    const compared = new Set<string>();
    for (const [subject, baseline] of comparisons) {
      const ours = group.get(subject);
      const base = group.get(baseline);
      if (!ours || !base) continue;
      compared.add(subject);
      rows.push({
        ...rowOf(ours),
        baseline,
        baselineValue: base.value,
        baselineStatus: base.status,
        ratio: ours.value !== null && base.value !== null && base.value !== 0 ? ours.value / base.value : null,
        // The baseline's own note only when something went wrong with it; the JSON has all notes.
        note: [ours.note, base.status !== "ok" && base.note && `${baseline}: ${base.note}`].filter(Boolean).join("; ") || undefined,
      });
    }
    // A subject with no baseline in this group still gets its row.
    for (const [subject] of comparisons) {
      const ours = group.get(subject);
      if (ours && !compared.has(subject)) {
        compared.add(subject);
        rows.push(rowOf(ours));
      }
    }
  }
  return rows;
}

function rowOf(m: Measurement): Row {
  return { name: m.scenario, direction: m.direction, ours: m.variant, value: m.value, unit: m.unit, better: m.better, status: m.status, note: m.note };
}

/** Three significant digits, no exponent for the magnitudes we see. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function cell(value: number | null | undefined, status?: Status): string {
  const text = formatNumber(value);
  return status && status !== "ok" ? `${text} (${status})` : text;
}

/** A printed table: one subject variant against several baselines, one line per (scenario, direction). */
export interface TableGroup {
  title: string;
  subject: string;
  baselines: readonly string[];
}

const NOTE_WIDTH = 70;

/**
 * The measurements as Markdown tables (readable in a terminal too): per group, one line per
 * (scenario, direction) with the subject's value and, per baseline, its value and the
 * ratio subject ÷ baseline. Notes (caps, errors) follow each table, numbered.
 */
export function formatTables(measurements: readonly Measurement[], groups: readonly TableGroup[]): string {
  const keys: string[] = [];
  const byKey = new Map<string, Map<string, Measurement>>();
  for (const m of measurements) {
    const key = `${m.scenario}\u0000${m.direction}`;
    if (!byKey.has(key)) {
      keys.push(key);
      byKey.set(key, new Map());
    }
    byKey.get(key)!.set(m.variant, m);
  }
  const out: string[] = [];
  for (const group of groups) {
    const notes: string[] = [];
    const noteRef = (m: Measurement | undefined): string => {
      if (!m || m.status === "ok" || !m.note) return "";
      const text = `${m.scenario} ${m.direction} ${m.variant}: ${m.note}`;
      notes.push(text.length > NOTE_WIDTH * 2 ? `${text.slice(0, NOTE_WIDTH * 2 - 1)}…` : text);
      return ` [${notes.length}]`;
    };
    const header = ["scenario", "direction", "unit", "good if", group.subject];
    for (const b of group.baselines) header.push(b, "ratio");
    const body: string[][] = [];
    for (const key of keys) {
      const variants = byKey.get(key)!;
      const subject = variants.get(group.subject);
      if (!subject) continue;
      const line = [subject.scenario, subject.direction, subject.unit, subject.better === "higher" ? "higher" : "lower", cell(subject.value, subject.status) + noteRef(subject)];
      for (const b of group.baselines) {
        const base = variants.get(b);
        const ratio = base && subject.value !== null && base.value !== null && base.value !== 0 ? (subject.value / base.value).toFixed(2) : "–";
        line.push(base ? cell(base.value, base.status) + noteRef(base) : "", base ? ratio : "");
      }
      body.push(line);
    }
    // A table whose first baseline was not measured at all (e.g. diagnostics in a quick run) is left out.
    const firstBaseline = group.baselines[0];
    if (body.length === 0 || (firstBaseline && !keys.some((k) => byKey.get(k)!.has(firstBaseline)))) continue;
    out.push(`### ${group.title}`, "", markdownTable(header, body));
    if (notes.length) out.push("", ...notes.map((n, i) => `[${i + 1}] ${n}`));
    out.push("");
  }
  return out.join("\n");
}

/** A Markdown table with its columns padded, so that it reads in a terminal too. */
export function markdownTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const row = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [row(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(row)].join("\n");
}
