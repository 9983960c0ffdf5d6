/**
 * One slide's Library row (its QC flags and reason, its patient, its labels) for the Viewer's panel,
 * whatever the Library's filter. The list query has no "by id" condition, so this asks for the slides
 * whose path contains this slide's path (the slide itself, and rarely a longer path that ends the same
 * way) and keeps the one with the id.
 */
import type { LibrarySlide } from '../../src-main/contract/contract.js';
import { call } from './api.js';

/** The filter's text is at most 500 characters; the end of a path is the part that tells slides apart. */
const MAX_TEXT = 500;

export async function fetchSlideRow(slide: { id: number; path: string }): Promise<LibrarySlide | null> {
  const text = slide.path.slice(-MAX_TEXT);
  const page = await call('slides.list', { offset: 0, limit: 50, filter: { text }, sort: { column: 'id' } });
  return page.slides.find((s) => s.id === slide.id) ?? null;
}
