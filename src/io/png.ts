import { PNG } from 'pngjs';

/** PNG colour type (and pngjs input colour type) of 1, 3 and 4 bytes per pixel: grey, RGB, RGBA. */
const COLOR_TYPE = { 1: 0, 3: 2, 4: 6 } as const;

/** How many times larger than the samples' own pixels imageGrid draws its tiles (a 28-pixel digit becomes 84 pixels). */
export const GRID_SCALE = 3;

/**
 * Encodes an 8-bit PNG (with pngjs) from row-major pixels: `channels` 1 (grey), 3 (RGB) or 4
 * (RGBA) bytes per pixel, stored in the PNG as they are (no conversion to RGBA).
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Buffer {
  if (pixels.length !== width * height * channels) throw new Error(`encodePng: expected ${width * height * channels} bytes, got ${pixels.length}`);
  const image = Object.assign(new PNG(), { width, height, data: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength) });
  const colorType = COLOR_TYPE[channels];
  return PNG.sync.write(image, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4 });
}

/**
 * Tiles n images [n, H, W, C] (values in [-1, 1], clipped) into a grid of `columns` columns with a
 * 2-pixel border, mapping v to round((v + 1) * 127.5); C = 1 or 3. The whole grid, border
 * included, is then enlarged `scale` times by pixel repetition (nearest neighbour), so a tile
 * is scale H x scale W pixels and the border 2 scale.
 */
export function imageGrid(values: ArrayLike<number>, n: number, shape: readonly [number, number, number], columns = Math.ceil(Math.sqrt(n)), scale = GRID_SCALE): Buffer {
  const [H, W, C] = shape;
  if (C !== 1 && C !== 3) throw new Error(`imageGrid: images need 1 or 3 channels, got ${C}`);
  if (!(Number.isInteger(scale) && scale >= 1)) throw new Error(`imageGrid: scale must be an integer >= 1, got ${scale}`);
  const rows = Math.ceil(n / columns);
  const pad = 2;
  const width = (columns * (W + pad) + pad) * scale;
  const height = (rows * (H + pad) + pad) * scale;
  const pixels = new Uint8Array(width * height * C).fill(255);
  for (let i = 0; i < n; i++) {
    const ox = (pad + (i % columns) * (W + pad)) * scale;
    const oy = (pad + Math.floor(i / columns) * (H + pad)) * scale;
    for (let y = 0; y < H * scale; y++) {
      for (let x = 0; x < W * scale; x++) {
        const source = ((i * H + Math.floor(y / scale)) * W + Math.floor(x / scale)) * C;
        const target = ((oy + y) * width + ox + x) * C;
        for (let c = 0; c < C; c++) pixels[target + c] = Math.round((Math.min(1, Math.max(-1, values[source + c])) + 1) * 127.5);
      }
    }
  }
  return encodePng(pixels, width, height, C);
}
