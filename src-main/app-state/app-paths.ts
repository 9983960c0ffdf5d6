import os from 'node:os';
import path from 'node:path';

/**
 * The per-user folder for recent projects, window state and the demo project. TESSERA_USER_DATA
 * overrides it (tests, portable installs); Electron passes app.getPath('userData') explicitly.
 */
export function defaultUserDataDir(): string {
  if (process.env.TESSERA_USER_DATA) return path.resolve(process.env.TESSERA_USER_DATA);
  const home = os.homedir();
  if (process.platform === 'win32') {
    return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Tessera');
  }
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Tessera');
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'tessera');
}
