export { Reader, Writer } from './cursor.ts';
export { Lru } from './lru.ts';
export { hex, fromHex, concat, equal, ctEqual, abytes, u16le, u32le, u64le, isZero } from './util.ts';
