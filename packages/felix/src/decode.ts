/**
 * Frame payload -> felix.ToDataplane. Anything the protobuf decoder rejects is a protocol
 * error at that frame (Felix's own reader treats it the same way); what decodes is validated
 * object by object later, in the store.
 */
import { errorMessage } from "@ptables/api";
import { felix } from "@ptables/proto";
import { FrameError, type Frame } from "./framing";

/** Decodes one frame; throws a FrameError naming the frame's offset if it does not decode. */
export function decodeToDataplane(frame: Frame): felix.ToDataplane {
  try {
    return felix.ToDataplane.decode(frame.bytes);
  } catch (err) {
    throw new FrameError(frame.offset, `does not decode as felix.ToDataplane: ${errorMessage(err)}`);
  }
}
