/**
 * The validated objects of the desired state and the references between them. Endpoints
 * name policies and profiles; rules name IP sets. An object is in the snapshot only if it is
 * valid itself and everything it names is present and valid, so the downstream compiler never
 * sees a dangling reference. When an object changes validity, the objects naming it are
 * re-checked, and the changes come out in dependency order: upserts of what is named before
 * what names it, removals the other way round.
 */
import { IpSetType, ValidationError } from "@ptables/api";
import {
  KINDS,
  objectRef,
  type ApplyOutput,
  type Converted,
  type KindInfo,
  type KindModels,
  type ObjectError,
  type ObjectKindName,
} from "./object-kinds";

interface Node {
  kind: ObjectKindName;
  id: string;
  content: Converted<ObjectKindName>;
  valid: boolean;
  error?: string;
}

function refKey(kind: ObjectKindName, id: string): string {
  return `${kind}:${id}`;
}

/** Objects by kind and id, each valid (in the snapshot) or in error, and who names whom. */
export class ObjectGraph {
  private readonly nodes = new Map<string, Node>();
  private readonly byKind = new Map<ObjectKindName, Map<string, Node>>();
  /** refKey of a named object -> refKeys of the objects naming it (present or not). */
  private readonly dependents = new Map<string, Set<string>>();

  isValid(kind: ObjectKindName, id: string): boolean {
    return this.nodes.get(refKey(kind, id))?.valid ?? false;
  }

  /** Every object currently in error. */
  *errors(): IterableIterator<ObjectError> {
    for (const node of this.nodes.values()) {
      if (node.error !== undefined) yield { ...objectRef(node.kind, node.id), reason: node.error };
    }
  }

  /** Valid objects of one kind, in first-insertion order. */
  validModels<K extends ObjectKindName>(kind: K): KindModels[K][] {
    const out: KindModels[K][] = [];
    for (const node of this.byKind.get(kind)?.values() ?? []) {
      if (node.valid && "model" in node.content) out.push(node.content.model() as KindModels[K]);
    }
    return out;
  }

  /**
   * Creates or replaces an object. `emitUpsert: false` is for the caller that announces a
   * valid-to-valid change itself (an IP-set delta instead of the whole set).
   */
  set<K extends ObjectKindName>(kind: K, id: string, content: Converted<K>, out: ApplyOutput, emitUpsert = true): void {
    const key = refKey(kind, id);
    let node = this.nodes.get(key);
    const previousSetType = node && "model" in node.content ? node.content.ipSetType : undefined;
    if (node) {
      this.unlinkDependencies(key, node);
      node.content = content;
    } else {
      node = { kind, id, content, valid: false };
      this.nodes.set(key, node);
      let ofKind = this.byKind.get(kind);
      if (!ofKind) this.byKind.set(kind, (ofKind = new Map()));
      ofKind.set(id, node);
    }
    this.linkDependencies(key, node);
    const wasValid = node.valid;
    this.settle(node, this.evaluate(node), out, true, emitUpsert);
    const setTypeChanged = "model" in content && content.ipSetType !== previousSetType;
    if (wasValid && node.valid && setTypeChanged) this.recheckDependents(key, out);
  }

  /** Removes an object; whatever names it falls into error. Returns false if it was unknown. */
  remove(kind: ObjectKindName, id: string, out: ApplyOutput): boolean {
    const key = refKey(kind, id);
    const node = this.nodes.get(key);
    if (!node) return false;
    this.unlinkDependencies(key, node);
    this.nodes.delete(key);
    this.byKind.get(kind)?.delete(id);
    this.recheckDependents(key, out);
    if (node.valid) out.changes.push(KINDS[kind].remove(id));
    if (node.error !== undefined) out.cleared.push(objectRef(kind, id));
    return true;
  }

  /** Forgets everything (a new Felix connection starts from nothing). */
  clear(): void {
    this.nodes.clear();
    this.byKind.clear();
    this.dependents.clear();
  }

  private evaluate(node: Node): string | undefined {
    const content = node.content;
    if (!("model" in content)) return content.error;
    for (const dep of content.deps) {
      const target = this.nodes.get(refKey(dep.kind, dep.id));
      const what = `${KINDS[dep.kind].label} ${dep.id}`;
      let reason: string | undefined;
      if (!target) reason = `unknown ${what}`;
      else if (!target.valid) reason = `${what} is in error`;
      else if (dep.ipSetTypes && "model" in target.content) {
        const type = target.content.ipSetType ?? IpSetType.IP_SET_TYPE_IP;
        if (!dep.ipSetTypes.includes(type)) {
          reason = `${what} has type ${IpSetType[type]}, expected ${dep.ipSetTypes.map((t) => IpSetType[t]).join(" or ")}`;
        }
      }
      if (reason !== undefined) {
        return new ValidationError(`${KINDS[node.kind].label} ${node.id} ${dep.path}`, reason).message;
      }
    }
    return undefined;
  }

  /** Moves a node to its new validity, emitting changes in dependency order. */
  private settle(node: Node, error: string | undefined, out: ApplyOutput, replaced: boolean, emitUpsert: boolean): void {
    const key = refKey(node.kind, node.id);
    const info = KINDS[node.kind] as KindInfo<ObjectKindName>;
    if (error === undefined) {
      const wasValid = node.valid;
      node.valid = true;
      if (node.error !== undefined) {
        node.error = undefined;
        out.cleared.push(objectRef(node.kind, node.id));
      }
      if ((!wasValid || (replaced && emitUpsert)) && "model" in node.content) {
        out.changes.push(info.upsert(node.content.model()));
      }
      if (!wasValid) this.recheckDependents(key, out);
      return;
    }
    if (replaced || node.error !== error) out.errors.push({ ...objectRef(node.kind, node.id), reason: error });
    node.error = error;
    if (node.valid) {
      node.valid = false;
      this.recheckDependents(key, out);
      out.changes.push(info.remove(node.id));
    }
  }

  private recheckDependents(key: string, out: ApplyOutput): void {
    for (const dependentKey of this.dependents.get(key) ?? []) {
      const dependent = this.nodes.get(dependentKey);
      if (dependent) this.settle(dependent, this.evaluate(dependent), out, false, false);
    }
  }

  private linkDependencies(key: string, node: Node): void {
    if (!("model" in node.content)) return;
    for (const dep of node.content.deps) {
      const target = refKey(dep.kind, dep.id);
      let set = this.dependents.get(target);
      if (!set) this.dependents.set(target, (set = new Set()));
      set.add(key);
    }
  }

  private unlinkDependencies(key: string, node: Node): void {
    if (!("model" in node.content)) return;
    for (const dep of node.content.deps) {
      const target = refKey(dep.kind, dep.id);
      const set = this.dependents.get(target);
      set?.delete(key);
      if (set?.size === 0) this.dependents.delete(target);
    }
  }
}
