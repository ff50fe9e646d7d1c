/** struct bpf_prog_info, the two fields ptables uses: id and tag. */
import { check } from "../native/bpf-error";
import { libBpf } from "../native/native-libs";

export function programInfo(fd: number, what: string): { id: number; tag: string } {
  const info = Buffer.alloc(16); // __u32 type; __u32 id; __u8 tag[8]
  const len = Buffer.alloc(4);
  len.writeUInt32LE(info.length);
  check(libBpf().bpf_obj_get_info_by_fd(fd, info, len), `program info ${what}`);
  return { id: info.readUInt32LE(4), tag: info.subarray(8, 16).toString("hex") };
}
