/** Minimal leveled logger for main-side code; TESSERA_LOG=debug|info|warn|error|silent. */
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof levels;

function threshold(): number {
  const wanted = (process.env.TESSERA_LOG ?? 'info') as Level;
  return levels[wanted] ?? levels.info;
}

function write(level: Level, message: string, detail?: unknown): void {
  if (levels[level] < threshold()) return;
  const line = `[tessera ${level}] ${message}`;
  const extra =
    detail instanceof Error ? `\n${detail.stack ?? detail.message}` : detail ? ` ${String(detail)}` : '';
  process.stderr.write(line + extra + '\n');
}

export const log = {
  debug: (m: string, d?: unknown) => write('debug', m, d),
  info: (m: string, d?: unknown) => write('info', m, d),
  warn: (m: string, d?: unknown) => write('warn', m, d),
  error: (m: string, d?: unknown) => write('error', m, d),
};
