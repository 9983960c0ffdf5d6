/**
 * Finding the slide a CSV cell names, the ways label files name slides: the full path, the file name
 * (Slideflow's `slide`), the file name without its extension (CLAM's `slide_id`), a path from another
 * machine whose file name is ours, or Tessera's slide id. Pure: built from the slides' identities.
 */
import path from 'node:path';
import type { SlideIdentity } from './patients-repo.js';

export type SlideMatch = { slide: SlideIdentity } | { error: string };

function stem(name: string): string {
  const ext = path.extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}

function add(map: Map<string, SlideIdentity[]>, key: string, s: SlideIdentity): void {
  const list = map.get(key);
  if (list) list.push(s);
  else map.set(key, [s]);
}

export class SlideMatcher {
  private readonly byPath = new Map<string, SlideIdentity[]>();
  private readonly byName = new Map<string, SlideIdentity[]>();
  private readonly byStem = new Map<string, SlideIdentity[]>();
  private readonly byId = new Map<number, SlideIdentity>();

  constructor(slides: SlideIdentity[]) {
    for (const s of slides) {
      add(this.byPath, s.path, s);
      add(this.byName, s.name.toLowerCase(), s);
      add(this.byStem, stem(s.name).toLowerCase(), s);
      this.byId.set(s.id, s);
    }
  }

  match(cell: string): SlideMatch {
    const text = cell.trim();
    if (!text) return { error: 'it names no slide' };
    const looksLikePath = text.includes('/') || text.includes('\\');
    const base = looksLikePath ? text.split(/[\\/]/).pop()!.toLowerCase() : text.toLowerCase();
    const tiers: (SlideIdentity[] | undefined)[] = [
      this.byPath.get(text),
      this.byName.get(base),
      looksLikePath ? undefined : this.byStem.get(base),
    ];
    for (const found of tiers) {
      if (!found?.length) continue;
      if (found.length === 1) return { slide: found[0]! };
      return {
        error: `"${clip(text)}" matches ${found.length} slides (${found
          .slice(0, 3)
          .map((s) => s.path)
          .join(', ')}${found.length > 3 ? ', …' : ''}); give the full path`,
      };
    }
    if (/^\d{1,15}$/.test(text)) {
      const byId = this.byId.get(Number(text));
      if (byId) return { slide: byId };
    }
    return { error: `no slide in the project is named "${clip(text)}"` };
  }
}

function clip(s: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const printable = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
