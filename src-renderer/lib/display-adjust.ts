/**
 * The Viewer's display adjustments, as QuPath has them: brightness, contrast and gamma for the whole view,
 * and for fluorescence images a colour and a display range per channel (the image's red, green and blue
 * channels, which is how scanners deliver fluorescence slides as RGB). Applied by an SVG filter on the
 * viewer's canvas only: tiles, thumbnails and training pixels are never touched. Pure: settings in, the
 * filter's numbers out.
 */

export interface ChannelDisplay {
  name: string;
  /** '#rrggbb': the colour this channel is shown in. */
  color: string;
  /** Display range in the channel's 0–255 values: min shows black, max full colour. */
  min: number;
  max: number;
  visible: boolean;
}

export interface DisplaySettings {
  /** Added to every channel after contrast, −1 to 1. */
  brightness: number;
  /** Scales every channel about the middle grey, 0 to 4 (1: unchanged). */
  contrast: number;
  /** Output is input^(1/gamma): above 1 lightens mid-tones, below 1 darkens them. */
  gamma: number;
  /** Per-channel colour and range; off for a brightfield (H&E, IHC) view. */
  channelsOn: boolean;
  channels: ChannelDisplay[];
}

export const DEFAULT_CHANNELS: ChannelDisplay[] = [
  { name: 'Channel 1 (red)', color: '#ff0000', min: 0, max: 255, visible: true },
  { name: 'Channel 2 (green)', color: '#00ff00', min: 0, max: 255, visible: true },
  { name: 'Channel 3 (blue)', color: '#0000ff', min: 0, max: 255, visible: true },
];

export const DEFAULT_DISPLAY: DisplaySettings = {
  brightness: 0,
  contrast: 1,
  gamma: 1,
  channelsOn: false,
  channels: DEFAULT_CHANNELS,
};

export interface Transfer {
  slope: number;
  intercept: number;
}

export interface DisplayFilter {
  /** Per input channel (R, G, B): its range stretched to 0–1. Null when channels are off. */
  ranges: [Transfer, Transfer, Transfer] | null;
  /** feColorMatrix values mixing the stretched channels into their colours; null when channels are off. */
  mix: string | null;
  tone: Transfer;
  /** feFuncX type="gamma" exponent. */
  exponent: number;
}

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/** Whether the settings leave the image as it is (then no filter is applied at all). */
export function isNeutral(s: DisplaySettings): boolean {
  return s.brightness === 0 && s.contrast === 1 && s.gamma === 1 && !s.channelsOn;
}

export function displayFilter(s: DisplaySettings): DisplayFilter {
  let ranges: DisplayFilter['ranges'] = null;
  let mix: string | null = null;
  if (s.channelsOn) {
    const [r, g, b] = s.channels.slice(0, 3).map((c) => {
      const span = Math.max(1, c.max - c.min);
      return { slope: round(255 / span), intercept: round(-c.min / span) };
    });
    ranges = [r!, g!, b!];
    const colors = s.channels.slice(0, 3).map((c) => (c.visible ? rgb(c.color) : ([0, 0, 0] as const)));
    const row = (k: 0 | 1 | 2) => `${colors.map((c) => round(c[k])).join(' ')} 0 0`;
    mix = `${row(0)} ${row(1)} ${row(2)} 0 0 0 1 0`;
  }
  return {
    ranges,
    mix,
    tone: { slope: round(s.contrast), intercept: round(0.5 * (1 - s.contrast) + s.brightness) },
    exponent: round(1 / Math.max(0.05, s.gamma)),
  };
}
