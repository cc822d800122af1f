// The HTTP contract of docs/protocol.md, and nothing else: login, project, pull, push,
// conflict status.
//
// Errors:
//   WireError
//   ├── TransportError   no answer of this contract: no network, a cut or non-JSON body, an
//   │                    HTML page (captive portal, proxy), a proxy's 413 page. Refuses nothing.
//   └── Refusal          a JSON error of this contract: {status, code, message, details}
//       ├── AuthNeeded       401: the token expired or was revoked; ask for the password
//       └── ResyncRequired   410 resync_required: download everything again
//
// JSON is read so that integers past 2^53 stay exact (as BigInt) and written back as
// they came, so a record's untouched fields reach the server unchanged.

export class WireError extends Error {}

/** No answer of this contract came: a change sent stays pending. */
export class TransportError extends WireError {
  /**
   * @param {string} message
   * @param {number | null} [status]
   */
  constructor(message, status = null) {
    super(message);
    this.name = "TransportError";
    this.status = status;
  }
}

/** The server answered with an error of the contract. */
export class Refusal extends WireError {
  /**
   * @param {number} status
   * @param {{code: string, message: string, details?: any}} error
   */
  constructor(status, error) {
    super(error.message);
    this.name = "Refusal";
    this.status = status;
    this.code = error.code;
    this.details = error.details ?? null;
  }
}

/** 401: the token expired or was revoked. */
export class AuthNeeded extends Refusal {}

/** 410 `resync_required`: the cursor is too old; download everything again. */
export class ResyncRequired extends Refusal {}

const LONG_NUMBER = /\d{16}/;

/**
 * Parse JSON, keeping integers past 2^53 exact as BigInt.
 * @param {string} text
 * @returns {any}
 */
export function parseJSON(text) {
  // The reviver costs time: only a text with a long run of digits can hold such a number.
  if (!LONG_NUMBER.test(text)) return JSON.parse(text);
  return JSON.parse(text, keepBigIntegers);
}

/**
 * @param {string} _key
 * @param {any} value
 * @param {{source?: string}} [context]
 */
function keepBigIntegers(_key, value, context) {
  if (typeof value !== "number" || Number.isSafeInteger(value) || !context?.source) return value;
  return /^-?\d+$/.test(context.source) ? BigInt(context.source) : value;
}

/**
 * JSON text of a value, writing BigInt as the integer it is.
 * @param {any} value
 * @returns {string}
 */
export function stringifyJSON(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? rawJSON(v.toString()) : v));
}

/** @param {string} text */
function rawJSON(text) {
  return /** @type {any} */ (JSON).rawJSON(text);
}

const TIMEOUT_MS = 120_000;

/**
 * @typedef {{changes: {entity: string, id: string, version: number, deleted: boolean,
 *   record: Record<string, any> | null}[], cursor: string, more: boolean,
 *   project_version?: number, total?: number, totals?: Record<string, number>}} Page
 *   `total`, `totals`: how many changes the whole download brings (asked with `count`)
 * @typedef {{cursor: string | null, more: boolean, bytes: number, page: () => Promise<Page>}}
 *   PageAnswer `bytes`: the body's length, once `page()` has read it
 */

export class Wire {
  /**
   * @param {string} origin the server, e.g. `https://crm.example.com`
   * @param {string | null} [token]
   */
  constructor(origin, token = null) {
    this.origin = origin.replace(/\/+$/, "");
    this.token = token;
  }

  /**
   * @param {string} username
   * @param {string} password
   * @param {string} deviceId
   * @returns {Promise<{token: string, user: {id: string, username: string, role: string}}>}
   */
  async login(username, password, deviceId) {
    const body = JSON.stringify({ username, password, device_id: deviceId });
    const answer = await this.json("POST", "/v1/auth/login", body);
    if (typeof answer?.token !== "string" || typeof answer?.user?.username !== "string") {
      throw new TransportError("the login answer is not fieldsync's");
    }
    return answer;
  }

  /** Revoke the token: a TransportError when the server was not reached. */
  async logout() {
    const response = await this.send("POST", "/v1/auth/logout", "");
    if (!response.ok) throw await refusalOf(response);
  }

  /** @returns {Promise<import("./store.js").Project>} */
  async project() {
    const answer = await this.json("GET", "/v1/project");
    if (!Array.isArray(answer?.entities)) throw new TransportError("the project answer is not fieldsync's");
    return answer;
  }

  /**
   * Ask for one page of changes. Resolves as soon as the answer's headers arrive (with
   * the cursor and `more` they name), so the next page can be asked for while this one's
   * body is still on its way; `page()` reads the body.
   * With `count` and no cursor (a download's first page), the answer says how many
   * changes the whole download brings. With `first` (the date of `today`, no cursor),
   * it is the first screen: the user's own records and those dated today or later.
   * @param {{cursor: string, limit: number, max_bytes: number, device_id: string,
   *   skip_own: boolean, count?: boolean, first?: string}} params
   * @returns {Promise<PageAnswer>}
   */
  async pull(params) {
    const query = new URLSearchParams({
      limit: String(params.limit),
      max_bytes: String(params.max_bytes),
      device_id: params.device_id,
      skip_own: String(params.skip_own),
    });
    if (params.cursor) query.set("cursor", params.cursor);
    else if (params.first) {
      query.set("first", "true");
      query.set("today", params.first);
    } else if (params.count) query.set("count", "true");
    const response = await this.send("GET", `/v1/sync/pull?${query}`);
    if (!response.ok) throw await refusalOf(response);
    /** @type {PageAnswer} */
    const answer = {
      cursor: response.headers.get("Fieldsync-Cursor"),
      more: response.headers.get("Fieldsync-More") === "true",
      bytes: 0,
      page: async () => {
        const text = await textOf(response);
        answer.bytes = text.length;
        const page = parsed(text);
        if (!Array.isArray(page?.changes) || typeof page.cursor !== "string") {
          throw new TransportError("the pull answer is not fieldsync's");
        }
        return page;
      },
    };
    return answer;
  }

  /**
   * Send a batch exactly as its outbox holds it. The caller checks that the results
   * answer its changes (one per change, in order).
   * @param {string} body the batch's JSON text
   * @param {{echo?: "changed"}} [options]
   * @returns {Promise<{results: any[]}>}
   */
  async push(body, options = {}) {
    const path = options.echo ? `/v1/sync/push?echo=${options.echo}` : "/v1/sync/push";
    const answer = await this.json("POST", path, body);
    if (!Array.isArray(answer?.results)) throw new TransportError("the push answer is not fieldsync's");
    return answer;
  }

  /**
   * Where this device's conflicts stand.
   * @param {string} deviceId
   * @param {string[]} ids
   * @returns {Promise<any[]>}
   */
  async conflicts(deviceId, ids) {
    const body = JSON.stringify({ device_id: deviceId, ids });
    const answer = await this.json("POST", "/v1/sync/conflicts", body);
    if (!Array.isArray(answer?.conflicts)) {
      throw new TransportError("the conflicts answer is not fieldsync's");
    }
    return answer.conflicts;
  }

  /**
   * A request whose answer is JSON of this contract.
   * @param {string} method
   * @param {string} path
   * @param {string} [body]
   */
  async json(method, path, body) {
    const response = await this.send(method, path, body);
    if (!response.ok) throw await refusalOf(response);
    return bodyOf(response);
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {string} [body]
   * @returns {Promise<Response>}
   */
  async send(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    try {
      return await fetch(this.origin + path, {
        method,
        headers,
        body,
        cache: "no-store",
        credentials: "omit",
        redirect: "manual", // a portal's redirect is no answer of ours
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new TransportError(`no answer from the server (${messageOf(error)})`);
    }
  }
}

/**
 * The JSON body of an answer, or a TransportError when it is not JSON (an HTML page, a
 * cut body).
 * @param {Response} response
 */
async function bodyOf(response) {
  return parsed(await textOf(response));
}

/**
 * The text of a JSON answer; a TransportError for another type or a cut body.
 * @param {Response} response
 */
async function textOf(response) {
  if (!isJSON(response)) throw new TransportError(`not a fieldsync answer (${response.status})`);
  try {
    return await response.text();
  } catch (error) {
    throw new TransportError(`the answer was cut (${messageOf(error)})`);
  }
}

/** @param {string} text */
function parsed(text) {
  try {
    return parseJSON(text);
  } catch {
    throw new TransportError("the answer is not complete JSON");
  }
}

/**
 * The error an answer that is not 2xx stands for: a Refusal only for a JSON error body
 * of this contract, a TransportError for anything else.
 * @param {Response} response
 * @returns {Promise<WireError>}
 */
async function refusalOf(response) {
  let body = null;
  try {
    body = await bodyOf(response);
  } catch (error) {
    if (error instanceof TransportError) {
      return new TransportError(`${error.message} (status ${response.status})`, response.status);
    }
    throw error;
  }
  const error = body?.error;
  if (typeof error?.code !== "string" || typeof error?.message !== "string") {
    return new TransportError(`an error that is not fieldsync's (${response.status})`, response.status);
  }
  if (response.status === 401) return new AuthNeeded(response.status, error);
  if (response.status === 410) return new ResyncRequired(response.status, error);
  return new Refusal(response.status, error);
}

/** @param {Response} response */
function isJSON(response) {
  const type = (response.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json" || /^application\/[\w.+-]*\+json$/.test(type);
}

/** @param {unknown} error */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}
