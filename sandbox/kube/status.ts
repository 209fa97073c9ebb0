/**
 * Kubernetes `Status` failure bodies with the reasons and messages the real apiserver uses, so that
 * kubectl prints `Error from server (<reason>): <message>` and clients branch on `reason`/`code`.
 * Messages carry object names and key ids only, never Secret data.
 */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string };
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** A request that ends with a Status reply; thrown by handlers and answered by the router. */
export class KubeError extends Error {
  constructor(readonly status: StatusBody) {
    super(status.message);
  }
  get code(): number {
    return this.status.code;
  }
}

function failure(code: number, reason: string, message: string, details?: StatusBody['details']): KubeError {
  const body: StatusBody = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details) body.details = details;
  return new KubeError(body);
}

export const unauthorized = (): KubeError => failure(401, 'Unauthorized', 'Unauthorized');

export const notFound = (resource: string, name: string): KubeError =>
  failure(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });

export const routeNotFound = (): KubeError =>
  failure(404, 'NotFound', 'the server could not find the requested resource', {});

export const alreadyExists = (resource: string, name: string): KubeError =>
  failure(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });

export const conflict = (resource: string, name: string): KubeError =>
  failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind: resource },
  );

export const preconditionFailed = (
  resource: string,
  name: string,
  what: string,
  wanted: string,
  actual: string,
): KubeError =>
  failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${resource} "${name}": Precondition failed: ${what} in precondition: ${wanted}, ${what} in object meta: ${actual}`,
    { name, kind: resource },
  );

export const terminatingNamespace = (resource: string, name: string, namespace: string): KubeError =>
  failure(
    403,
    'Forbidden',
    `${resource} ${name ? `"${name}" ` : ''}is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
    {
      name,
      kind: resource,
      causes: [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${namespace} is being terminated`,
          field: 'metadata.namespace',
        },
      ],
    },
  );

export const forbidden = (resource: string, name: string, why: string): KubeError =>
  failure(403, 'Forbidden', `${resource} "${name}" is forbidden: ${why}`, { name, kind: resource });

/**
 * A stored value that cannot be decrypted. A paged list reads etcd directly and names the object
 * (`unable to transform key "<etcd key>": …`); a single-object read (GET, and the read inside an
 * update or delete) reports only the decrypt error.
 */
export const decryptFailed = (etcdKey: string | undefined, cause: string): KubeError => {
  const detail = etcdKey === undefined ? cause : `unable to transform key "${etcdKey}": ${cause}`;
  return failure(500, 'InternalError', `Internal error occurred: ${detail}`, {
    causes: [{ message: detail }],
  });
};

/**
 * An unpaged list is served by the watch cache, which cannot initialize while any Secret of the
 * resource fails to decrypt: 429 with a one-second retry hint, whatever namespace was asked for.
 */
export const storageInitializing = (etcdKey: string, cause: string): KubeError =>
  failure(
    429,
    'TooManyRequests',
    `storage is (re)initializing: failed to list *core.Secret: unable to transform key "${etcdKey}": ${cause}`,
    { retryAfterSeconds: 1 },
  );

export const continueExpired = (inconsistentContinue: string): KubeError => {
  const e = failure(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
  );
  e.status.metadata.continue = inconsistentContinue;
  return e;
};

export const internalError = (cause: string): KubeError =>
  failure(500, 'InternalError', `Internal error occurred: ${cause}`, {
    causes: [{ reason: '', message: cause, field: '' }],
  });

export const badRequest = (message: string): KubeError => failure(400, 'BadRequest', message);

export const invalid = (kind: string, name: string, field: string, detail: string): KubeError =>
  failure(422, 'Invalid', `${kind} "${name}" is invalid: ${field}: ${detail}`, {
    name,
    kind: kind === 'Secret' ? 'Secret' : kind,
    causes: [{ reason: 'FieldValueInvalid', message: detail, field }],
  });

export const methodNotAllowed = (): KubeError =>
  failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});

export const unsupportedMediaType = (accepted: string[]): KubeError =>
  failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );

export function successStatus(details: NonNullable<StatusBody['details']>): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}
