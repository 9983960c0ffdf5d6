/**
 * The Library measured in Chromium, in the page: how long the first screen takes (the app marks the frame
 * in which the table's rows and every task's column are first drawn, as `data-first-screen-ms`, counted
 * from the page's navigation start) and how long frames get while the table scrolls (the gaps between
 * requestAnimationFrame callbacks while a script scrolls it, and Chromium's long-animation-frame entries).
 * It drives Debian's /usr/bin/chromium through WebdriverIO against a running browser-mode server whose
 * open project is the one to measure, so the library bench (or any bench) can call it with its server.
 */
import fs from 'node:fs';
import { remote } from 'webdriverio';

export interface LibraryPageTimings {
  /** First screens of the reloaded page: the first with an empty browser cache, the others warm. */
  firstScreenMs: number[];
  scroll: ScrollPhase[];
  browser: string;
}

export interface ScrollPhase {
  what: string;
  frames: number;
  /** Gaps between animation frames while scrolling, ms. */
  p50: number;
  p95: number;
  max: number;
  /** Long animation frames (over 50 ms) Chromium reported during the phase, and the longest. */
  longFrames: number;
  longestMs: number;
  /** Rows still waiting for their data when the phase ended (they fill in as pages arrive). */
  pendingAtEnd: number;
  /** CPU time of the whole browser (every process and thread) per frame: the work, whatever the load. */
  cpuPerFrameMs: number;
}

/** CPU time (user + system) so far of every process below this one: chromedriver and the browser. */
function descendantsCpuMs(): number {
  const children = new Map<number, { pid: number; cpu: number }[]>();
  const ticks = 100; // USER_HZ on Linux
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const parent = Number(fields[1]);
      const cpu = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
      children.set(parent, [...(children.get(parent) ?? []), { pid: Number(entry), cpu }]);
    } catch {
      // The process ended while we looked.
    }
  }
  let total = 0;
  const stack = [process.pid];
  while (stack.length) {
    for (const child of children.get(stack.pop()!) ?? []) {
      total += child.cpu;
      stack.push(child.pid);
    }
  }
  return total;
}

const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
const CHROMEDRIVER = process.env.TESSERA_CHROMEDRIVER ?? '/usr/bin/chromedriver';

/** What runs in the page for one scroll phase: `step(i)` gives the scrollTop of frame i. */
interface PhaseSpec {
  what: string;
  frames: number;
  kind: 'flick' | 'jump' | 'drag-back';
}

const PHASES: PhaseSpec[] = [
  // A fast wheel or trackpad fling: 200 px a frame is 12,000 px (270 rows) a second.
  { what: 'fast wheel: 200 px per frame down the table', frames: 300, kind: 'flick' },
  { what: 'scroll-bar jumps: a random place every frame', frames: 120, kind: 'jump' },
  { what: 'scroll-bar drag back up: 2,000 px per frame', frames: 120, kind: 'drag-back' },
];

export async function measureLibraryPage(
  launchUrl: string,
  options: { reloads?: number } = {},
): Promise<LibraryPageTimings> {
  const reloads = options.reloads ?? 6;
  const browser = await remote({
    logLevel: 'error',
    capabilities: {
      browserName: 'chrome',
      'goog:chromeOptions': {
        binary: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--disable-background-networking',
          '--no-first-run',
          '--window-size=1440,900',
          '--lang=en-US',
        ],
      },
      'wdio:chromedriverOptions': { binary: CHROMEDRIVER },
    },
  });
  try {
    const origin = new URL(launchUrl).origin;
    // The first load is the launch URL in a fresh profile (the token's cookie, an empty cache); the others
    // reload the Library's address.
    const firstScreenMs: number[] = [];
    for (let i = 0; i < reloads; i++) {
      if (i === 0) await browser.url(launchUrl);
      else {
        await browser.url(`${origin}/#/library`);
        await browser.refresh();
      }
      await browser.waitUntil(
        async () =>
          (await browser.$('[data-testid="library"]').getAttribute('data-first-screen-ms')) !== null,
        { timeout: 20_000, timeoutMsg: 'the Library never drew its first screen' },
      );
      firstScreenMs.push(
        Number(await browser.$('[data-testid="library"]').getAttribute('data-first-screen-ms')),
      );
    }
    const scroll: ScrollPhase[] = [];
    for (const phase of PHASES) {
      await browser.pause(500);
      const cpuBefore = descendantsCpuMs();
      const result = await browser.execute(
        async (spec: PhaseSpec): Promise<Omit<ScrollPhase, 'cpuPerFrameMs'>> => {
          const scroller = document.querySelector<HTMLElement>('[data-testid="slide-table"]')!;
          const max = scroller.scrollHeight - scroller.clientHeight;
          let seed = 7;
          const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
          const long: number[] = [];
          const type = PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')
            ? 'long-animation-frame'
            : 'longtask';
          const observer = new PerformanceObserver((list) => {
            for (const e of list.getEntries()) long.push(e.duration);
          });
          observer.observe({ type, buffered: false });
          const gaps: number[] = [];
          const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
          let last = await frame();
          for (let i = 0; i < spec.frames; i++) {
            if (spec.kind === 'flick') scroller.scrollTop = Math.min(max, scroller.scrollTop + 200);
            else if (spec.kind === 'jump') scroller.scrollTop = Math.floor(random() * max);
            else scroller.scrollTop = Math.max(0, scroller.scrollTop - 2000);
            const now = await frame();
            gaps.push(now - last);
            last = now;
          }
          // Let entries of the last frames arrive.
          await new Promise((resolve) => setTimeout(resolve, 200));
          observer.disconnect();
          gaps.sort((a, b) => a - b);
          const at = (q: number) => gaps[Math.min(gaps.length - 1, Math.ceil(q * gaps.length) - 1)]!;
          const over = long.filter((d) => d > 50);
          return {
            what: spec.what,
            frames: gaps.length,
            p50: at(0.5),
            p95: at(0.95),
            max: gaps[gaps.length - 1]!,
            longFrames: over.length,
            longestMs: long.length ? Math.max(...long) : 0,
            pendingAtEnd: document.querySelectorAll('[data-testid="slide-row-pending"]').length,
          };
        },
        phase,
      );
      scroll.push({ ...result, cpuPerFrameMs: (descendantsCpuMs() - cpuBefore) / phase.frames });
    }
    const version = (browser.capabilities as { browserVersion?: string }).browserVersion ?? '?';
    return { firstScreenMs, scroll, browser: `Chromium ${version} (headless, software rendering)` };
  } finally {
    await browser.deleteSession();
  }
}

/** The rows the results table shows for these timings (goal: first screen 500 ms, frames 50 ms). */
export function libraryPageRows(t: LibraryPageTimings): string[] {
  const [cold, ...warm] = t.firstScreenMs;
  const sorted = [...warm].sort((a, b) => a - b);
  const warmMedian = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : cold!;
  const warmMax = sorted.length ? sorted.at(-1)! : cold!;
  const ok = (ms: number, goal: number) => (ms < goal ? 'met' : 'not met');
  const f = (n: number) => n.toFixed(1);
  return [
    '| what | measured | goal | goal / measured | outcome |',
    '| --- | --: | --: | --: | --- |',
    `| first screen, page loaded with an empty cache (navigation start to the frame with rows and task columns) | ${cold} ms | 500 ms | ${(500 / cold!).toFixed(1)}x | ${ok(cold!, 500)} |`,
    `| first screen, reloaded (median / worst of ${warm.length}) | ${warmMedian} / ${warmMax} ms | 500 ms | ${(500 / warmMax).toFixed(1)}x | ${ok(warmMax, 500)} |`,
    ...t.scroll.map(
      (p) =>
        `| scrolling, ${p.what} (${p.frames} frames): frame gap p50 / p95 / max; long frames over 50 ms; longest reported; the browser's CPU per frame | ${f(p.p50)} / ${f(p.p95)} / ${f(p.max)} ms; ${p.longFrames}; ${f(p.longestMs)} ms; ${f(p.cpuPerFrameMs)} ms | 50 ms | ${(50 / Math.max(p.max, p.longestMs)).toFixed(1)}x | ${ok(Math.max(p.max, p.longestMs), 50)} |`,
    ),
  ];
}
