/**
 * Just enough ELF reading to check that a relay binary is what calico-node can run: the right
 * machine, no program interpreter (nothing to find in the image's /lib) and no shared libraries.
 */

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;

export interface ElfFacts {
  machine: number;
  /** ET_EXEC (2) or ET_DYN (3, position independent). */
  type: number;
  hasInterpreter: boolean;
  /** DT_NEEDED entries: shared libraries the loader would have to find. */
  neededLibraries: number;
}

/** Reads a 64-bit little-endian ELF file's header and program headers. */
export function readElf(file: Buffer): ElfFacts {
  if (file.length < 64 || file.readUInt32BE(0) !== 0x7f454c46) throw new Error("not an ELF file");
  if (file[4] !== 2 || file[5] !== 1) throw new Error("not a 64-bit little-endian ELF file");
  const type = file.readUInt16LE(16);
  const machine = file.readUInt16LE(18);
  const phoff = Number(file.readBigUInt64LE(32));
  const phentsize = file.readUInt16LE(54);
  const phnum = file.readUInt16LE(56);
  let hasInterpreter = false;
  let neededLibraries = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const pType = file.readUInt32LE(ph);
    if (pType === PT_INTERP) hasInterpreter = true;
    if (pType === PT_DYNAMIC) {
      const off = Number(file.readBigUInt64LE(ph + 8));
      const size = Number(file.readBigUInt64LE(ph + 32));
      for (let d = off; d + 16 <= off + size; d += 16) {
        const tag = file.readBigInt64LE(d);
        if (tag === DT_NULL) break;
        if (tag === DT_NEEDED) neededLibraries++;
      }
    }
  }
  return { machine, type, hasInterpreter, neededLibraries };
}
