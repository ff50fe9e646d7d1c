export * from "./netns";
export { DEFAULT_SCHEMA_PATH, encodeFelixFrame, encodeFelixMessage, loadFelixSchema, randomToDataplane, seededRandom, type FelixEncodeOptions, type FelixFieldOrder, type FelixSchema, type FieldSpec, type MessageSpec } from "./felix-encoder";
export * from "./contract";
