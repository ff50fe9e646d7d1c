/** The Felix stream player, from @ptables/felix. */
export * from "@ptables/felix";
