/**
 * Where the user is inside an open project: the section, the Viewer's slide and view, the Library's list,
 * the Cohorts view's selection. The address (route.ts) mirrors it: moving to another view or slide adds a
 * history entry, so Back and Forward move between them; refining the list or panning replaces the entry,
 * so history is not flooded. Views move the user with `openSlide`, `go` and `setList` instead of knowing
 * about each other.
 */
import type { ListQuery } from './list-query.js';
import { defaultRoute, formatRoute, parseRoute, type Route, type Viewport } from './route.js';
import type { SectionId } from './sections.js';

class NavigationStore {
  #route = $state.raw<Route>(parseRoute(window.location.hash));
  // Each part is derived on its own, so a view that reads the slide is not re-run when only the viewport
  // or the list changed (a derived value notifies only when it changes).
  #section = $derived(this.#route.section);
  #slideId = $derived(this.#route.slideId);
  #viewport = $derived(this.#route.viewport);
  #list = $derived(this.#route.list);
  #cohortId = $derived(this.#route.cohortId);
  #splitId = $derived(this.#route.splitId);

  get route(): Route {
    return this.#route;
  }
  get section(): SectionId {
    return this.#section;
  }
  /** Assignable, so the sidebar can bind to it; a change is a new history entry. */
  set section(section: SectionId) {
    if (section !== this.#route.section) this.go({ section });
  }
  /** The slide in the Viewer, or null before one was opened in this project. */
  get slideId(): number | null {
    return this.#slideId;
  }
  get viewport(): Viewport | null {
    return this.#viewport;
  }
  get list(): ListQuery {
    return this.#list;
  }
  get cohortId(): number | null {
    return this.#cohortId;
  }
  get splitId(): number | null {
    return this.#splitId;
  }

  /** Follows Back, Forward and edits of the address; returns the function that stops following. */
  start(): () => void {
    const onhashchange = () => {
      const next = parseRoute(window.location.hash);
      if (formatRoute(next) !== formatRoute(this.#route)) this.#route = next;
    };
    window.addEventListener('hashchange', onhashchange);
    return () => window.removeEventListener('hashchange', onhashchange);
  }

  /** Moves to another place; a new history entry unless `replace`. */
  go(patch: Partial<Route>, options: { replace?: boolean } = {}): void {
    const next: Route = { ...this.#route, ...patch };
    const hash = formatRoute(next);
    this.#route = next;
    if (hash === window.location.hash) return;
    if (options.replace) history.replaceState(history.state, '', hash);
    else history.pushState(history.state, '', hash);
  }

  openSlide(id: number): void {
    if (id === this.#route.slideId && this.#route.section === 'viewer') return;
    this.go({ section: 'viewer', slideId: id, viewport: null });
  }

  /** The Viewer's view of its slide, kept in the address as the user pans and zooms. */
  setViewport(viewport: Viewport | null): void {
    this.go({ viewport }, { replace: true });
  }

  /** The Library's list (filter and sort), kept in the address. */
  setList(list: ListQuery): void {
    this.go({ list }, { replace: true });
  }

  /** A newly opened project starts in its Library with no slide chosen. */
  reset(): void {
    this.#route = defaultRoute();
    history.replaceState(history.state, '', formatRoute(this.#route));
  }

  /** No project is open: the address names nothing. */
  clear(): void {
    this.#route = defaultRoute();
    history.replaceState(history.state, '', window.location.pathname + window.location.search);
  }
}

export const navigation = new NavigationStore();
