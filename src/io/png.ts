import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG chunks use) of the bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes an 8-bit PNG from row-major pixels: `channels` 1 (grey) or 3 (RGB) bytes per pixel,
 * each row prefixed with filter type 0, the whole deflated into one IDAT chunk.
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  if (pixels.length !== width * height * channels) throw new Error(`encodePng: expected ${width * height * channels} bytes, got ${pixels.length}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = channels === 1 ? 0 : 2;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) Buffer.from(pixels.subarray(y * stride, (y + 1) * stride)).copy(raw, y * (stride + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * Tiles n images [n, H, W, C] (values in [-1, 1], clipped) into a grid of `columns` columns with a
 * 2-pixel border, mapping v to round((v + 1) * 127.5); C = 1 or 3.
 */
export function imageGrid(values: ArrayLike<number>, n: number, shape: readonly [number, number, number], columns = Math.ceil(Math.sqrt(n))): Buffer {
  const [H, W, C] = shape;
  if (C !== 1 && C !== 3) throw new Error(`imageGrid: images need 1 or 3 channels, got ${C}`);
  const rows = Math.ceil(n / columns);
  const pad = 2;
  const width = columns * (W + pad) + pad;
  const height = rows * (H + pad) + pad;
  const pixels = new Uint8Array(width * height * C).fill(255);
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % columns) * (W + pad);
    const oy = pad + Math.floor(i / columns) * (H + pad);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < C; c++) {
          const v = values[((i * H + y) * W + x) * C + c];
          pixels[((oy + y) * width + ox + x) * C + c] = Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
        }
      }
    }
  }
  return encodePng(pixels, width, height, C as 1 | 3);
}
