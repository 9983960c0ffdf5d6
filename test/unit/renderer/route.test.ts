/** The address of a place in a project: what a reload or a shared link lands on. */
import { describe, expect, it } from 'vitest';
import { defaultRoute, formatRoute, parseRoute, type Route } from '../../../src-renderer/lib/route.js';

const route = (patch: Partial<Route>): Route => ({ ...defaultRoute(), ...patch });

describe('route', () => {
  it('names the viewer, the slide and the viewport, and reads them back', () => {
    const r = route({ section: 'viewer', slideId: 42, viewport: { x: 1834.4, y: 920.6, zoom: 0.2514159 } });
    const hash = formatRoute(r);
    expect(hash).toBe('#/viewer/42?x=1834&y=921&zoom=0.2514');
    expect(parseRoute(hash)).toMatchObject({
      section: 'viewer',
      slideId: 42,
      viewport: { x: 1834, y: 921, zoom: 0.2514 },
    });
  });

  it('keeps the list (text, sort, filter) with the library and the viewer, not with other views', () => {
    const list = {
      sort: { column: 'task:3' as const, direction: 'desc' as const },
      filter: { text: 'TCGA-05', missingTaskIds: [3], qc: [{ flag: 'blur' as const, set: false }] },
    };
    const library = formatRoute(route({ section: 'library', list }));
    expect(library).toContain('q=TCGA-05');
    expect(library).toContain('sort=-task%3A3');
    expect(parseRoute(library).list).toEqual(list);
    expect(parseRoute(formatRoute(route({ section: 'viewer', slideId: 7, list }))).list).toEqual(list);
    expect(formatRoute(route({ section: 'training', list }))).toBe('#/training');
  });

  it("keeps a sort by a model's predictions", () => {
    const list = {
      sort: { column: 'prediction:3:model:12' as const, direction: 'desc' as const },
      filter: {},
    };
    expect(parseRoute(formatRoute(route({ section: 'library', list }))).list).toEqual(list);
    const bad = formatRoute(route({ section: 'library', list })).replace('model%3A12', 'evil%3A12');
    expect(parseRoute(bad).list.sort).toEqual({ column: 'name', direction: 'asc' });
  });

  it('writes the default list as nothing', () => {
    expect(formatRoute(defaultRoute())).toBe('#/library');
    expect(parseRoute('#/library')).toEqual(defaultRoute());
  });

  it('names the cohorts view selection', () => {
    const hash = formatRoute(route({ section: 'cohorts', cohortId: 3, splitId: 7 }));
    expect(hash).toBe('#/cohorts?cohort=3&split=7');
    expect(parseRoute(hash)).toMatchObject({ section: 'cohorts', cohortId: 3, splitId: 7 });
  });

  it('falls back to the default for anything it cannot read, and never throws', () => {
    for (const hash of [
      '',
      '#',
      '#/nowhere/9',
      '#/viewer/abc?x=1&y=2&zoom=3',
      '#/viewer/0',
      '#/viewer/-4',
      '#/viewer/99999999999999999999',
      '#/library?sort=drop%20table',
      '#/library?where=%7Bnot%20json',
      '#/library?where=[1,2]',
      '#/library?where=%7B%22qc%22%3A%5B%7B%22flag%22%3A%22evil%22%2C%22set%22%3Atrue%7D%5D%7D',
      '#/cohorts?cohort=x&split=1.5',
    ]) {
      const r = parseRoute(hash);
      expect(['library', 'viewer', 'cohorts', 'training', 'results']).toContain(r.section);
      if (r.slideId !== null) expect(Number.isSafeInteger(r.slideId) && r.slideId > 0).toBe(true);
      expect(r.list.filter.qc ?? []).toEqual([]);
    }
    expect(parseRoute('#/viewer/12').viewport).toBeNull();
    expect(parseRoute('#/viewer/12?x=1&y=2&zoom=0').viewport).toBeNull();
    expect(parseRoute('#/library?sort=drop%20table').list.sort).toEqual({ column: 'name', direction: 'asc' });
  });

  it('survives a round trip of every filter field', () => {
    const list = {
      sort: { column: 'patient' as const, direction: 'asc' as const },
      filter: {
        text: 'a&b=c?#',
        cohortId: 4,
        taskValues: [
          { taskId: 1, values: ['yes', 'a,b'] },
          { taskId: 5, min: 1.5, max: 9 },
        ],
        missingTaskIds: [2],
        qc: [{ flag: 'exclude' as const, set: true }],
        qcClean: false,
        patient: null,
      },
    };
    expect(parseRoute(formatRoute(route({ section: 'library', list }))).list).toEqual(list);
  });
});
