/** Text output of `tessera runs` and `tessera runs show`. */
import type { RunDetail, RunSummary } from '../../contract/contract.js';
import { probeEpochsOf } from '../../training/runs/run-config.js';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

const num = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);

export function runsTable(runs: RunSummary[]): string {
  if (!runs.length) return 'No runs yet; start one with `tessera train DIR`.\n';
  return table(
    ['id', 'state', 'mode', 'model', 'tasks', 'split', 'epochs', 'best', 'test AUROC', 'created'],
    runs.map((r) => [
      String(r.id),
      r.state,
      r.mode,
      r.model,
      r.tasks.join(','),
      r.splitName,
      `${r.epochsDone}/${r.epochs}`,
      r.bestEpoch === null ? '-' : String(r.bestEpoch),
      Object.values(r.testAuroc)
        .map((v) => num(v))
        .join(',') || '-',
      r.createdAt.replace('T', ' ').slice(0, 16),
    ]),
  );
}

export function showRun(d: RunDetail): string {
  const c = d.config;
  const out: string[] = [];
  out.push(`Run ${d.id}: ${d.name}`);
  out.push(`  state      ${d.state}${d.error ? ` (${d.error})` : ''}; attempts ${d.attempts}`);
  out.push(`  model      ${d.model}, ${c.mode}, seed ${c.seed}; code ${d.codeVersion}`);
  out.push(
    `  data       split ${d.splitName}${c.fold ? ` fold ${c.fold}` : ''} (${Object.entries(d.partSizes)
      .map(([p, n]) => `${n} ${p}`)
      .join(', ')}); tasks ${c.tasks.join(', ')}; ${c.patchesPerSlide} patches/slide at ${c.mpp} µm/px`,
  );
  out.push(
    `  optimiser  ${probeEpochsOf(c) ? `${c.probeEpochs} probe epochs (encoder frozen), then ` : ''}${c.epochs} epochs, ${c.batchSlides} slides/step, lr ${c.lrEncoder} (encoder) ${c.lrAggregator} (aggregator), ` +
      `weight decay ${c.weightDecay}, warm-up ${c.warmupEpochs} epoch(s), clip ${c.clipNorm}, chunk ${c.chunkSize}` +
      (c.matmulPrecision === 'bf16' ? ', bf16 matrix products' : ''),
  );
  if (d.history.length) {
    out.push('');
    const tasks = Object.keys(d.history[0]!.trainLoss);
    out.push(
      table(
        [
          'epoch',
          ...tasks.flatMap((t) => [`${t} train`, `${t} val`, `${t} AUROC`]),
          'seconds',
          'patches/s',
          'waited',
        ],
        d.history.map((e) => [
          `${e.epoch}${e.epoch === d.bestEpoch ? '*' : ''}`,
          ...tasks.flatMap((t) => [
            num(e.trainLoss[t], 4),
            num(e.validation[t]?.loss, 4),
            num(e.validation[t]?.auroc),
          ]),
          e.seconds.toFixed(1),
          e.patchesPerSecond.toFixed(0),
          `${(100 * e.waitFraction).toFixed(1)}%`,
        ]),
      ).trimEnd(),
    );
  }
  if (d.testMetrics) {
    out.push('');
    for (const [t, m] of Object.entries(d.testMetrics)) {
      out.push(
        `  test ${t}: AUROC ${num(m.auroc)} (95% CI ${num(m.aurocCi[0])}–${num(m.aurocCi[1])}), balanced accuracy ${num(m.balancedAccuracy)}, ${m.slides} slides (${Object.entries(
          m.counts,
        )
          .map(([v, n]) => `${n} ${v}`)
          .join(', ')})`,
      );
    }
  }
  for (const w of d.warnings) out.push(`  warning: ${w}`);
  out.push(`  log        ${d.logFile}`);
  return out.join('\n') + '\n';
}
