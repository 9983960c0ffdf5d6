/**
 * Aperio SVS conventions, as OpenSlide reads them: the ImageDescription of the first image is
 * "Aperio Image Library ...\r\n<header>|key = value|key = value..."; tiled images are pyramid
 * levels; among the stripped ones, directory 1 is the thumbnail and the others name themselves on
 * the second line of their description ("label 387x463", "macro 1280x431").
 */
export function isAperio(description: string): boolean {
  return description.startsWith('Aperio');
}

/** 'aperio.<key>' properties from the ImageDescription. */
export function aperioProperties(description: string): Record<string, string> {
  const props: Record<string, string> = {};
  const parts = description.split('|');
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key) props[`aperio.${key}`] = value;
  }
  return props;
}

/** Name of a stripped (associated) Aperio image, or undefined if it does not say. */
export function aperioAssociatedName(directoryIndex: number, description: string): string | undefined {
  if (directoryIndex === 1) return 'thumbnail';
  const lines = description.split(/\r?\n|\r/);
  const word = lines[1]?.trim().split(/\s+/)[0];
  return word ? word : undefined;
}
