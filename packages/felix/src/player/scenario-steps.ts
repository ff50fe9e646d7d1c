/** Reading `steps`: timed changes played after InSync, each one Felix flush. */
import { readNetworkSet, readPod } from "./scenario-objects";
import { readName, readPolicy, readPolicyRef } from "./scenario-rules";
import type { StepAction, StepSpec } from "./scenario-types";
import { fail, keyPath, readDurationMs, readEnum, readLabels, readObject } from "./validate";

const ACTIONS = ["addPod", "removePod", "updatePod", "addPolicy", "updatePolicy", "removePolicy", "setNetworkSet", "removeNetworkSet"] as const;

/**
 * Reads one step: `after` (time since InSync; steps must not go back in time) plus exactly one
 * action. `previousMs` is the previous step's time.
 */
export function readStep(value: unknown, path: string, previousMs: number, defaultNode: string): StepSpec {
  const obj = readObject(value, path, ["after", ...ACTIONS]);
  if (obj.after === undefined) fail(keyPath(path, "after"), "every step needs a time, e.g. after: 500ms");
  const afterMs = readDurationMs(obj.after, keyPath(path, "after"));
  if (afterMs < previousMs) fail(keyPath(path, "after"), `steps must be in time order (this one is before the previous step at ${previousMs}ms)`);
  const present = ACTIONS.filter((a) => obj[a] !== undefined);
  if (present.length !== 1) {
    fail(path, present.length === 0 ? `a step needs one action: ${ACTIONS.join(", ")}` : `a step has one action, found ${present.join(" and ")}`);
  }
  return { afterMs, action: readAction(present[0], obj[present[0]], keyPath(path, present[0]), defaultNode) };
}

function readPodRef(value: unknown, path: string, extraKeys: readonly string[] = []): Record<string, unknown> & { namespace: string; name: string } {
  const obj = readObject(value, path, ["namespace", "name", ...extraKeys]);
  return { ...obj, namespace: readName(obj.namespace, keyPath(path, "namespace")), name: readName(obj.name, keyPath(path, "name")) };
}

function readAction(kind: (typeof ACTIONS)[number], value: unknown, path: string, defaultNode: string): StepAction {
  switch (kind) {
    case "addPod":
      return { kind, pod: readPod(value, path, defaultNode) };
    case "removePod": {
      const ref = readPodRef(value, path);
      return { kind, namespace: ref.namespace, name: ref.name };
    }
    case "updatePod": {
      const ref = readPodRef(value, path, ["labels", "state"]);
      const action: StepAction = { kind, namespace: ref.namespace, name: ref.name };
      if (ref.labels !== undefined) action.labels = readLabels(ref.labels, keyPath(path, "labels"));
      if (ref.state !== undefined) action.state = readEnum(ref.state, keyPath(path, "state"), ["active", "down"] as const);
      if (action.labels === undefined && action.state === undefined) fail(path, "updatePod needs labels or state to change");
      return action;
    }
    case "addPolicy":
    case "updatePolicy":
      return { kind, policy: readPolicy(value, path) };
    case "removePolicy":
      return { kind, policy: readPolicyRef(value, path) };
    case "setNetworkSet":
      return { kind, networkSet: readNetworkSet(value, path) };
    case "removeNetworkSet": {
      const obj = readObject(value, path, ["name", "namespace"]);
      const name = readName(obj.name, keyPath(path, "name"));
      return obj.namespace === undefined ? { kind, name } : { kind, name, namespace: readName(obj.namespace, keyPath(path, "namespace")) };
    }
  }
}
