/**
 * The renderer's one way to reach the main process. In Electron it goes over IPC through the
 * preload's `window.tessera`; in browser mode over HTTP and a WebSocket to the page's own origin.
 */
import { createApiClient } from './api-client.js';
import { createBridgeTransport } from './bridge-transport.js';
import { createBrowserTransport } from './browser-transport.js';
import {
  BROWSER_SLIDE_IMAGE_PREFIX,
  createSlideImageUrls,
  ELECTRON_SLIDE_IMAGE_BASE,
  type SlideImageUrls,
} from '../../src-main/contract/slide-image-urls.js';

export { ApiCallError } from './api-client.js';

const bridge = window.tessera;

const client = createApiClient(
  bridge ? createBridgeTransport(bridge) : createBrowserTransport({ origin: window.location.origin }),
);

/** Where this shell serves slide pixels: its `slide://` protocol in Electron, `/tiles/` in browser mode. */
const slideImageBase = bridge
  ? ELECTRON_SLIDE_IMAGE_BASE
  : new URL(BROWSER_SLIDE_IMAGE_PREFIX, window.location.origin).href;

/** Tile and thumbnail addresses for the slides of the project with this id. */
export function slideImageUrls(projectId: string): SlideImageUrls {
  return createSlideImageUrls(slideImageBase, projectId);
}

export const call = client.call;
export const on = client.on;
export const onResync = client.onResync;

/** Asks the shell for a folder; null when the user cancels or the shell has no picker (browser mode). */
export function pickFolder(title: string): Promise<string | null> {
  return bridge ? bridge.pickFolder(title) : Promise.resolve(null);
}
