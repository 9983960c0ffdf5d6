import { screen, type BrowserWindow, type Rectangle } from 'electron';
import fs from 'node:fs';
import path from 'node:path';

interface WindowState {
  bounds: Rectangle;
  maximized: boolean;
}

const DEFAULT: WindowState = { bounds: { x: 0, y: 0, width: 1400, height: 900 }, maximized: false };

/** Size and position of the main window, remembered across launches; ignored if off every screen now. */
export function loadWindowState(userDataDir: string): WindowState {
  try {
    const state = JSON.parse(fs.readFileSync(stateFile(userDataDir), 'utf8')) as WindowState;
    const { x, y, width, height } = state.bounds;
    if (![x, y, width, height].every(Number.isFinite) || width < 400 || height < 300) return DEFAULT;
    const visible = screen.getAllDisplays().some((d) => {
      const a = d.workArea;
      return x < a.x + a.width && x + width > a.x && y < a.y + a.height && y + height > a.y;
    });
    return visible ? state : { ...DEFAULT, maximized: state.maximized };
  } catch {
    return DEFAULT;
  }
}

export function trackWindowState(win: BrowserWindow, userDataDir: string): void {
  const save = () => {
    const state: WindowState = { bounds: win.getNormalBounds(), maximized: win.isMaximized() };
    fs.mkdirSync(userDataDir, { recursive: true });
    fs.writeFileSync(stateFile(userDataDir), JSON.stringify(state));
  };
  win.on('close', save);
}

function stateFile(userDataDir: string): string {
  return path.join(userDataDir, 'window-state.json');
}
