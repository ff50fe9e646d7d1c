/**
 * The seam for the DPU role: a fast path that can take established flows off the host.
 *
 * The offload daemon sees every flow the datapath tracks. With a FastPath configured it offers
 * each new flow once and withdraws it when the flow ends (expired or removed), so a DPU can
 * install a per-flow entry and forward that flow's packets itself, bypassing the policy
 * tables. Policy stays authoritative: a fast path may refuse any offer (capacity, protocol),
 * must keep forwarding only flows the datapath allowed, and must drop its entry on withdraw.
 *
 * ptables ships no implementation yet: with none configured (the default) nothing is offered
 * and every flow stays on the host datapath. Info reports `fastPath: "none"`.
 */
import type { Flow } from "@ptables/api";

export interface FastPath {
  /** For Info and logs, e.g. "vendor-x dpu0". */
  readonly name: string;
  /** A new flow the datapath allowed. Resolves true if the fast path took it. */
  offer(flow: Flow): Promise<boolean>;
  /** The flow ended or expired: forget it. Withdrawing an unknown flow succeeds. */
  withdraw(flow: Flow): Promise<void>;
}
