// Raw deflate (RFC 1951) through the browser's CompressionStream: no
// library, and the work happens in the browser's native code.

let supported: boolean | undefined;

/** Whether this browser can deflate-raw (Chrome 103+, Firefox 113+, Safari 16.4+). */
export function canDeflate(): boolean {
  if (supported === undefined) {
    try {
      new CompressionStream("deflate-raw");
      new DecompressionStream("deflate-raw");
      supported = true;
    } catch {
      supported = false;
    }
  }
  return supported;
}

async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw new Error("lotse cobrowse: inflated payload over the limit");
    }
    parts.push(value);
  }
  if (parts.length === 1 && parts[0]) return parts[0];
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function source(data: Uint8Array): ReadableStream<BufferSource> {
  return new ReadableStream<BufferSource>({
    start(c) {
      c.enqueue(data as Uint8Array<ArrayBuffer>);
      c.close();
    },
  });
}

/** Compresses data with raw deflate. */
export function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  return collect(source(data).pipeThrough(new CompressionStream("deflate-raw")), Infinity);
}

/** Inflates raw deflate, refusing more than limit bytes of output. */
export function inflateRaw(data: Uint8Array, limit: number): Promise<Uint8Array> {
  return collect(source(data).pipeThrough(new DecompressionStream("deflate-raw")), limit);
}
