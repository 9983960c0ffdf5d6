import type { IconName } from '../components/Icon.svelte';
import type { SectionId } from './section-ids.js';

export type { SectionId } from './section-ids.js';

/** The parts of an open project, in navigation order. */
export const sections = [
  { id: 'library', label: 'Library', icon: 'library' },
  { id: 'viewer', label: 'Viewer', icon: 'viewer' },
  { id: 'cohorts', label: 'Cohorts', icon: 'cohorts' },
  { id: 'training', label: 'Training', icon: 'training' },
  { id: 'results', label: 'Results', icon: 'results' },
] as const satisfies readonly { id: SectionId; label: string; icon: IconName }[];
