// eBPF instructions (the cgroup programs; seccomp's are classic BPF, src/exec/seccomp.ts),
// built as plain objects and encoded as the kernel reads them: 8 bytes each, opcode, the
// destination register in the low nibble and the source in the high one, a signed 16-bit
// offset, a signed 32-bit immediate (include/uapi/linux/bpf.h, bpf_common.h). Pure.

export interface EbpfInsn { code: number; dst: number; src: number; off: number; imm: number }

// Classes, sizes, modes, operations and sources.
const LD = 0x00, LDX = 0x01, ST = 0x02, ALU = 0x04, JMP = 0x05, ALU64 = 0x07;
const W = 0x00, DW = 0x18, IMM = 0x00, MEM = 0x60;
export const OP = { ADD: 0x00, OR: 0x40, AND: 0x50, RSH: 0x70, MOV: 0xb0 } as const;
export const JOP = { JA: 0x00, JEQ: 0x10, JGT: 0x20, JNE: 0x50, JLT: 0xa0 } as const;
const K = 0x00, X = 0x08, CALL = 0x80, EXIT = 0x90, END = 0xd0, TO_BE = 0x08;
/** src of a 64-bit immediate load that names a map by its fd. */
const PSEUDO_MAP_FD = 1;

const i = (code: number, dst: number, src: number, off: number, imm: number): EbpfInsn => ({ code, dst, src, off, imm: imm | 0 });

export const ebpf = {
  /** dst = src (64 bits). */
  mov64: (dst: number, src: number) => i(ALU64 | OP.MOV | X, dst, src, 0, 0),
  mov64Imm: (dst: number, imm: number) => i(ALU64 | OP.MOV | K, dst, 0, 0, imm),
  mov32: (dst: number, src: number) => i(ALU | OP.MOV | X, dst, src, 0, 0),
  mov32Imm: (dst: number, imm: number) => i(ALU | OP.MOV | K, dst, 0, 0, imm),
  alu32Imm: (op: number, dst: number, imm: number) => i(ALU | op | K, dst, 0, 0, imm),
  alu64Imm: (op: number, dst: number, imm: number) => i(ALU64 | op | K, dst, 0, 0, imm),
  /** dst = its low 16 bits as big-endian: network order to the host's, on little-endian hosts. */
  be16: (dst: number) => i(ALU | END | TO_BE, dst, 0, 0, 16),
  /** dst = *(u32 *)(src + off). */
  ldxW: (dst: number, src: number, off: number) => i(LDX | MEM | W, dst, src, off, 0),
  /** *(u32 *)(dst + off) = imm. */
  stW: (dst: number, off: number, imm: number) => i(ST | MEM | W, dst, 0, off, imm),
  /** if (dst OP imm) skip off instructions. */
  jmpImm: (op: number, dst: number, imm: number, off: number) => i(JMP | op | K, dst, 0, off, imm),
  jmpReg: (op: number, dst: number, src: number, off: number) => i(JMP | op | X, dst, src, off, 0),
  ja: (off: number) => i(JMP | JOP.JA, 0, 0, off, 0),
  call: (helper: number) => i(JMP | CALL, 0, 0, 0, helper),
  exit: () => i(JMP | EXIT, 0, 0, 0, 0),
  /** dst = the map of fd (two instruction slots). */
  ldMapFd: (dst: number, fd: number): EbpfInsn[] => [i(LD | DW | IMM, dst, PSEUDO_MAP_FD, 0, fd), i(0, 0, 0, 0, 0)],
};

/** The program as bytes for BPF_PROG_LOAD (little-endian: x86_64 and aarch64). */
export function encodeEbpf(program: EbpfInsn[]): Uint8Array {
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((insn, n) => {
    view.setUint8(n * 8, insn.code);
    view.setUint8(n * 8 + 1, (insn.src << 4) | insn.dst);
    view.setInt16(n * 8 + 2, insn.off, true);
    view.setInt32(n * 8 + 4, insn.imm, true);
  });
  return bytes;
}
