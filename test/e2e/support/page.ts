/**
 * What several specs do around the page: report Content Security Policy violations to the log, and leave
 * the start screen as the next spec expects it.
 */
import { browser, $ } from '@wdio/globals';

/**
 * Chromium does not put CSP violations in the BiDi log; this preload script (outside the page's CSP)
 * reports each one to the console, which is. Call before the page loads.
 */
export async function reportCspViolations(): Promise<void> {
  await browser.scriptAddPreloadScript({
    functionDeclaration: String(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI}`),
      );
    }),
  });
}

/** The CSP violations the page reports from now on (the array fills as they come). */
export async function collectCspViolations(): Promise<string[]> {
  const violations: string[] = [];
  browser.on('log.entryAdded', (entry) => {
    if ((entry.text ?? '').includes('Content Security Policy')) violations.push(entry.text ?? '');
  });
  await reportCspViolations();
  return violations;
}

/** Closes the open project, if any, and forgets `projectDir` in the recent list: no open project, no entry of ours. */
export async function closeProjectAndForget(projectDir: string): Promise<void> {
  if (!(await $('[data-testid="close-project"]').isExisting())) return;
  await $('[data-testid="close-project"]').click();
  const entry = $(`[data-testid="recent-item"][data-dir="${projectDir}"]`);
  if (await entry.isExisting()) await entry.$('[data-testid="recent-forget"]').click();
}
