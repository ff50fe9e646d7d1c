/** A few typed errors, checked by class. Messages are lowercase "operation: cause". */

export class PtablesError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that cannot be accepted; `path` says where (e.g. "policy default/p1 inbound rule 3"). */
export class ValidationError extends PtablesError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** The backend cannot hold what was asked (a limit, an unsupported match). */
export class NotSupportedError extends PtablesError {
  constructor(
    readonly feature: string,
    detail: string,
  ) {
    super(`${feature}: ${detail}`);
  }
}

export class NotFoundError extends PtablesError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
