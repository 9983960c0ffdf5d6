/** The parts of an open project, in navigation order (sections.ts gives each its label and icon). */
export const SECTION_IDS = ['library', 'viewer', 'cohorts', 'training', 'results'] as const;
export type SectionId = (typeof SECTION_IDS)[number];
