export { encodeFelixFrame, encodeFelixMessage } from "./encode";
export type { FelixEncodeOptions, FelixFieldOrder } from "./encode";
export { DEFAULT_SCHEMA_PATH, loadFelixSchema } from "./schema";
export type { FelixSchema, FieldSpec, MessageSpec } from "./schema";
export { randomToDataplane, seededRandom } from "./random-messages";
