/**
 * Where the user is inside an open project: the section shown and the slide the Viewer shows. Views
 * move the user with `openSlide` instead of knowing about each other.
 */
import type { SectionId } from './sections.js';

class NavigationStore {
  section = $state<SectionId>('library');
  /** The slide in the Viewer, or null before one was opened in this project. */
  slideId = $state<number | null>(null);

  openSlide(id: number): void {
    this.slideId = id;
    this.section = 'viewer';
  }

  /** A newly opened project starts in its Library with no slide chosen. */
  reset(): void {
    this.section = 'library';
    this.slideId = null;
  }
}

export const navigation = new NavigationStore();
