/**
 * Retrying something that is expected to fail for a while, like opening the datapath's pinned
 * maps before the policy programmer has created them.
 */
import { errorMessage } from "@ptables/api";
import { Backoff, type BackoffOptions } from "./grpc-client";
import type { Logger } from "./logger";

/** Options of retryUntilDone. */
export interface RetryOptions {
  /** What is being attempted, for logs ("open the pinned maps"). */
  what: string;
  logger: Logger;
  /** Checked before every attempt; once true, retrying stops and undefined is returned. */
  cancelled: () => boolean;
  backoff?: BackoffOptions;
}

/**
 * Calls `attempt` until it resolves, waiting a capped exponential backoff between failures.
 * The first failure is logged at info (normal during start-up), later ones at debug.
 */
export async function retryUntilDone<T>(attempt: () => Promise<T>, opts: RetryOptions): Promise<T | undefined> {
  const backoff = new Backoff(opts.backoff ?? { initialMs: 200, maxMs: 5000 });
  let failures = 0;
  while (!opts.cancelled()) {
    try {
      const value = await attempt();
      if (failures > 0) opts.logger.info(`${opts.what}: done`, { attempts: failures + 1 });
      return value;
    } catch (err) {
      failures++;
      const fields = { error: errorMessage(err), attempts: failures };
      if (failures === 1) opts.logger.info(`${opts.what}: not possible yet; retrying`, fields);
      else opts.logger.debug(`${opts.what}: still failing`, fields);
      await new Promise((r) => setTimeout(r, backoff.nextDelayMs()));
    }
  }
  return undefined;
}
