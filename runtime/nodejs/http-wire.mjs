// @ts-check
/**
 * A minimal HTTP/1.1 client on one `net.Socket`, for the Runtime API (the invoke hot path).
 *
 * `node:http` costs ~290 µs of CPU per invocation here (ClientRequest/IncomingMessage streams,
 * header validation, the Agent's bookkeeping); this costs a fraction of that. It does exactly
 * what the Runtime API needs, and does it robustly:
 *
 *  - a request is one prebuilt string or Buffer, sent with ONE `socket.write`;
 *  - requests on a connection go one at a time, in order (like an Agent with maxSockets: 1): one
 *    issued while another is outstanding waits for it. The one exception is `pipeline(first,
 *    second)`: both go out in one write and their responses are read in order (the runtime posts
 *    a result and asks for the next event at once: one write and one wake-up fewer per invocation);
 *  - responses: status line, headers (names lower-cased, values latin1 as Node does), then a body
 *    framed by Content-Length, chunked transfer coding or the end of the connection. 1xx interim
 *    responses are skipped. A response may arrive in any number of reads, and a read may hold
 *    more than one response;
 *  - reads go into one reused buffer (`onread`), so nothing is allocated per read: a response
 *    that arrives in one read is parsed in place and its body decoded straight out of it;
 *  - keep-alive: the socket is reused until the server closes it (or answers `Connection:
 *    close`); the next request then opens a new one. A request that meets a closed reused socket
 *    before any byte of its answer arrived is sent once more on a fresh connection;
 *  - the socket is ref'd only while a request is outstanding: an idle connection never keeps
 *    the event loop alive (the runtime's `beforeExit` handling depends on that).
 */

import { constants as bufferConstants } from 'node:buffer';
import net from 'node:net';

/** @typedef {import('node:http').IncomingHttpHeaders} IncomingHttpHeaders */

/**
 * One request. `data` is the whole request (head and body), written as is.
 * @typedef {object} WireRequest
 * @property {string | Buffer} data a string is written as UTF-8
 * @property {boolean} wantBody decode the response body (UTF-8) and pass it on; otherwise it is skipped
 * @property {(status: number, headers: IncomingHttpHeaders, body: string) => void} onResponse
 * @property {(err: Error) => void} onError the connection failed before the response was complete
 */

const READ_BUFFER_SIZE = 64 * 1024;
/** Largest status line + header block accepted (Lambda runs Node with --max-http-header-size 81920). */
const MAX_HEAD_SIZE = 256 * 1024;
/** Longest chunk-size or trailer line accepted in a chunked body. */
const MAX_LINE_SIZE = 16 * 1024;
const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
const LF_LF = Buffer.from('\n\n', 'latin1');
const LF = 10;
const EMPTY = '';

// Parser phases.
const HEAD = 0;
const BODY_LENGTH = 1;
const BODY_UNTIL_CLOSE = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_END = 5;
const TRAILERS = 6;

const CLOSE_TOKEN = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;
const KEEP_ALIVE_TOKEN = /(?:^|,)[ \t]*keep-alive[ \t]*(?:,|$)/i;
const CHUNKED_LAST = /(?:^|,)[ \t]*chunked[ \t]*$/i;
const DIGITS = /^[0-9]+$/;
const HEX = /^[0-9a-fA-F]+$/;

/** A malformed response: the connection cannot be trusted any more. */
class ParseError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(`Parse Error: ${message}`);
    this.code = 'HPE_INVALID_RESPONSE';
  }
}

/** What Node's http client reports when the server closes the connection under a request. */
function hangUp() {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

export class HttpConnection {
  /** @type {string} */
  #host;
  /** @type {number} */
  #port;
  /** @type {boolean} keep the connection between requests (and retry on a stale one) */
  #keepAlive;
  /** @type {net.Socket | null} */
  #socket = null;
  #refed = false;
  /** Responses completed on the current socket: a request on a used socket may be retried. */
  #served = 0;
  /** The current socket was opened ahead of any request (`open()`): its first request may be retried too. */
  #openedAhead = false;
  #readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  /** Bound once; `onread` calls it for every read. */
  #onRead = (/** @type {number} */ nread, /** @type {Uint8Array} */ buf) => {
    this.#onData(/** @type {Buffer} */ (buf), nread);
    return true;
  };

  /** @type {WireRequest | null} */
  #active = null;
  #activeReused = false;
  #activeRetried = false;
  /** A request written right behind the active one (pipelined); it becomes active when that is answered. */
  /** @type {WireRequest | null} */
  #followed = null;
  /** @type {WireRequest[]} */
  #queue = [];
  /** Bytes that arrived with no request outstanding (the answer to the next one, then). */
  /** @type {Buffer | null} */
  #pending = null;

  // Response parser state (for #active).
  #phase = HEAD;
  /** Whether any byte of the current response arrived. */
  #gotBytes = false;
  /** A status line + headers that arrived over several reads. */
  /** @type {Buffer | null} */
  #headBuf = null;
  #headLen = 0;
  #status = 0;
  /** @type {IncomingHttpHeaders} */
  #headers = Object.create(null);
  /** The server closes the connection after this response. */
  #closeAfter = false;
  /** Body bytes still expected (Content-Length body or current chunk). */
  #remaining = 0;
  /** A Content-Length body that arrived over several reads. */
  /** @type {Buffer | null} */
  #bodyBuf = null;
  #bodyLen = 0;
  /** Chunked or close-delimited body pieces (copies). */
  /** @type {Buffer[]} */
  #chunks = [];
  /** A chunk-size / trailer line split across reads. */
  #line = EMPTY;

  /**
   * @param {string} host
   * @param {number} port
   * @param {boolean} keepAlive false: one request, then the connection is closed
   */
  constructor(host, port, keepAlive) {
    this.#host = host;
    this.#port = port;
    this.#keepAlive = keepAlive;
  }

  /**
   * Opens the connection ahead of the first request (idle, it does not keep the process alive), so
   * that the server has accepted it by then: Kumo checks each new Runtime API connection's peer.
   * Resolves once it is connected, or failed (the first request then opens another); never rejects.
   * @returns {Promise<void>}
   */
  open() {
    if (this.#socket !== null) return Promise.resolve();
    const socket = this.#connect();
    socket.unref();
    this.#refed = false;
    this.#openedAhead = true;
    return new Promise((resolve) => {
      socket.once('connect', resolve);
      socket.once('close', resolve);
    });
  }

  /**
   * Sends `req` now, or once the requests before it are answered.
   * @param {WireRequest} req
   */
  request(req) {
    if (this.#active !== null || this.#queue.length > 0) this.#queue.push(req);
    else this.#send(req, false);
  }

  /**
   * Sends `first` and `second` in one write when the connection is free (else one after the
   * other, as `request` would). `second` is written before `first` is answered, so it must not
   * depend on that answer.
   * @param {WireRequest} first
   * @param {WireRequest} second
   */
  pipeline(first, second) {
    if (this.#active !== null || this.#queue.length > 0) {
      this.#queue.push(first, second);
      return;
    }
    this.#followed = second;
    this.#send(first, false);
  }

  /**
   * @param {WireRequest} req
   * @param {boolean} retried
   */
  #send(req, retried) {
    this.#active = req;
    this.#activeRetried = retried;
    let socket = this.#socket;
    if (socket === null) {
      socket = this.#connect();
      this.#activeReused = false;
    } else {
      this.#activeReused = this.#served > 0 || this.#openedAhead;
      if (!this.#refed) {
        socket.ref();
        this.#refed = true;
      }
    }
    const followed = this.#followed;
    if (followed === null) socket.write(req.data);
    else socket.write(joinData(req.data, followed.data));
    if (this.#pending !== null) {
      // The server answered early; parse it as this request's response, outside the caller's frame.
      process.nextTick(() => {
        const pending = this.#pending;
        if (pending === null || this.#socket !== socket) return;
        this.#pending = null;
        this.#feed(pending, 0, pending.length);
      });
    }
  }

  /** @returns {net.Socket} */
  #connect() {
    // TCP keep-alive probes as node:http's Agent sets them, for a long poll that may wait for hours.
    const socket = net.connect({
      host: this.#host,
      port: this.#port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 1000,
      onread: { buffer: this.#readBuffer, callback: this.#onRead },
    });
    socket.on('end', () => {
      if (this.#socket === socket) this.#onEnd();
    });
    socket.on('error', (err) => {
      if (this.#socket === socket) this.#onGone(err);
    });
    socket.on('close', () => {
      if (this.#socket === socket) this.#onGone(null);
    });
    this.#socket = socket;
    this.#refed = true;
    this.#served = 0;
    this.#openedAhead = false;
    this.#pending = null;
    return socket;
  }

  /** Forgets the current socket (its late events are ignored) and closes it. */
  #dropSocket() {
    const socket = this.#socket;
    if (socket === null) return;
    this.#socket = null;
    this.#refed = false;
    this.#pending = null;
    socket.destroy();
  }

  /**
   * @param {Buffer} buf the shared read buffer: anything kept past this call must be copied
   * @param {number} nread
   */
  #onData(buf, nread) {
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      const joined = Buffer.concat([pending, buf.subarray(0, nread)]);
      this.#feed(joined, 0, joined.length);
    } else {
      this.#feed(buf, 0, nread);
    }
  }

  /**
   * Parses `buf[off, end)`: completes as many responses as it holds, calling back for each.
   * @param {Buffer} buf
   * @param {number} off
   * @param {number} end
   */
  #feed(buf, off, end) {
    const socket = this.#socket;
    try {
      while (off < end) {
        if (this.#active === null) {
          // Nothing asked for this (yet): keep it for the next request.
          this.#pending = copyOf(buf, off, end);
          return;
        }
        this.#gotBytes = true;
        switch (this.#phase) {
          case HEAD:
            off = this.#readHead(buf, off, end);
            break;
          case BODY_LENGTH:
            off = this.#readLengthBody(buf, off, end);
            break;
          case BODY_UNTIL_CLOSE:
            if (this.#active.wantBody) this.#chunks.push(copyOf(buf, off, end));
            off = end;
            break;
          case CHUNK_DATA: {
            const n = Math.min(this.#remaining, end - off);
            if (this.#active.wantBody) {
              this.#chunks.push(copyOf(buf, off, off + n));
              this.#bodyLen += n;
            }
            off += n;
            this.#remaining -= n;
            if (this.#remaining === 0) this.#phase = CHUNK_END;
            break;
          }
          default:
            off = this.#readChunkLine(buf, off, end);
        }
        // A callback ended this connection (or the response said `Connection: close`).
        if (this.#socket !== socket) return;
      }
    } catch (err) {
      if (!(err instanceof ParseError) || this.#socket !== socket) throw err;
      this.#fail(err);
    }
  }

  /**
   * @param {Buffer} buf
   * @param {number} off
   * @param {number} end
   * @returns {number} where the body starts, or `end` if the head is not complete yet
   */
  #readHead(buf, off, end) {
    /** @type {Buffer} */
    let src;
    let start;
    let found;
    let next;
    if (this.#headLen === 0) {
      // Hot path: the whole head is in this read; parse it in place.
      found = findHeadEnd(buf, off, end);
      if (found === -1) {
        this.#appendHead(buf, off, end);
        return end;
      }
      src = buf;
      start = off;
      next = found;
    } else {
      const before = this.#headLen;
      this.#appendHead(buf, off, end);
      src = /** @type {Buffer} */ (this.#headBuf);
      found = findHeadEnd(src, Math.max(0, before - 3), this.#headLen);
      if (found === -1) return end;
      start = 0;
      next = off + (found - before);
      this.#headLen = 0;
    }
    // `found` is just past the blank line; the head text ends at its last line's LF.
    const head = src.toString('latin1', start, found);
    if (this.#headBuf !== null && this.#headBuf.length > 4096) this.#headBuf = null;
    this.#parseHead(head);
    const status = this.#status;
    if (status < 200) {
      if (status === 101) throw new ParseError('unexpected 101 Switching Protocols');
      // An interim response (100 Continue, 103 Early Hints): the real one follows.
      this.#headers = Object.create(null);
      return next;
    }
    const headers = this.#headers;
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (status === 204 || status === 304) {
      this.#finish(EMPTY);
    } else if (te !== undefined) {
      if (CHUNKED_LAST.test(te)) {
        this.#phase = CHUNK_SIZE;
      } else {
        this.#phase = BODY_UNTIL_CLOSE;
        this.#closeAfter = true;
      }
    } else if (cl !== undefined) {
      if (!DIGITS.test(cl)) throw new ParseError(`invalid Content-Length ${JSON.stringify(cl)}`);
      const length = Number(cl);
      if (length > bufferConstants.MAX_LENGTH) throw new ParseError(`Content-Length ${cl} is too large`);
      if (length === 0) {
        this.#finish(EMPTY);
      } else {
        this.#phase = BODY_LENGTH;
        this.#remaining = length;
      }
    } else {
      this.#phase = BODY_UNTIL_CLOSE;
      this.#closeAfter = true;
    }
    return next;
  }

  /**
   * @param {Buffer} buf
   * @param {number} off
   * @param {number} end
   */
  #appendHead(buf, off, end) {
    const n = end - off;
    const len = this.#headLen;
    if (len + n > MAX_HEAD_SIZE) throw new ParseError('header overflow');
    let head = this.#headBuf;
    if (head === null || head.length < len + n) {
      const grown = Buffer.allocUnsafe(Math.max(1024, 2 * (len + n)));
      if (head !== null) head.copy(grown, 0, 0, len);
      head = this.#headBuf = grown;
    }
    buf.copy(head, len, off, end);
    this.#headLen = len + n;
  }

  /**
   * Status line and header fields, `head` ending with the blank line.
   * @param {string} head
   */
  #parseHead(head) {
    let eol = head.indexOf('\n');
    const statusLine = head.slice(0, eol > 0 && head.charCodeAt(eol - 1) === 13 ? eol - 1 : eol);
    // "HTTP/1.1 200 OK"
    const sp = statusLine.indexOf(' ');
    const code = statusLine.slice(sp + 1, sp + 4);
    if (
      !statusLine.startsWith('HTTP/1.') ||
      sp !== 8 ||
      !DIGITS.test(code) ||
      (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)
    ) {
      throw new ParseError(`invalid status line ${JSON.stringify(statusLine.slice(0, 64))}`);
    }
    this.#status = Number(code);
    const http10 = statusLine.charCodeAt(7) === 48; // "HTTP/1.0"

    const headers = this.#headers;
    /** @type {string | undefined} */
    let last;
    let pos = eol + 1;
    const size = head.length;
    while (pos < size) {
      eol = head.indexOf('\n', pos);
      if (eol === -1) eol = size;
      let lineEnd = eol;
      if (lineEnd > pos && head.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      if (lineEnd > pos) {
        const first = head.charCodeAt(pos);
        if (first === 32 || first === 9) {
          // obs-fold: a continuation of the previous field's value.
          if (last === undefined) throw new ParseError('invalid header line');
          headers[last] = `${headers[last]} ${trimOws(head, pos, lineEnd)}`;
        } else {
          const colon = head.indexOf(':', pos);
          if (colon === -1 || colon >= lineEnd)
            throw new ParseError(`invalid header line ${JSON.stringify(head.slice(pos, Math.min(lineEnd, pos + 64)))}`);
          const name = trimOws(head, pos, colon).toLowerCase();
          const value = trimOws(head, colon + 1, lineEnd);
          const prev = headers[name];
          if (prev === undefined) headers[name] = value;
          else if (name !== 'content-length' && name !== 'content-type') headers[name] = `${prev}, ${value}`;
          last = name;
        }
      }
      pos = eol + 1;
    }
    const connection = headers['connection'];
    this.#closeAfter = connection === undefined ? http10 : http10 ? !KEEP_ALIVE_TOKEN.test(connection) : CLOSE_TOKEN.test(connection);
  }

  /**
   * @param {Buffer} buf
   * @param {number} off
   * @param {number} end
   */
  #readLengthBody(buf, off, end) {
    const n = Math.min(this.#remaining, end - off);
    const req = /** @type {WireRequest} */ (this.#active);
    if (!req.wantBody) {
      this.#remaining -= n;
      if (this.#remaining === 0) this.#finish(EMPTY);
      return off + n;
    }
    let body = this.#bodyBuf;
    if (body === null) {
      if (n === this.#remaining) {
        // Hot path: the whole body is in this read.
        this.#remaining = 0;
        this.#finish(buf.toString('utf8', off, off + n));
        return off + n;
      }
      body = this.#bodyBuf = Buffer.allocUnsafe(this.#remaining);
      this.#bodyLen = 0;
    }
    buf.copy(body, this.#bodyLen, off, off + n);
    this.#bodyLen += n;
    this.#remaining -= n;
    if (this.#remaining === 0) this.#finish(body.toString('utf8', 0, this.#bodyLen));
    return off + n;
  }

  /**
   * A chunk-size line, the CRLF after a chunk's data, or a trailer line.
   * @param {Buffer} buf
   * @param {number} off
   * @param {number} end
   */
  #readChunkLine(buf, off, end) {
    const nl = indexIn(buf, LF, off, end);
    if (nl === -1) {
      if (this.#line.length + end - off > MAX_LINE_SIZE) throw new ParseError('chunk line too long');
      this.#line += buf.toString('latin1', off, end);
      return end;
    }
    let line = buf.toString('latin1', off, nl);
    if (this.#line !== EMPTY) {
      line = this.#line + line;
      this.#line = EMPTY;
    }
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    switch (this.#phase) {
      case CHUNK_SIZE: {
        const semi = line.indexOf(';');
        const hex = trimOws(line, 0, semi === -1 ? line.length : semi);
        if (!HEX.test(hex) || hex.length > 12) throw new ParseError(`invalid chunk size ${JSON.stringify(line.slice(0, 64))}`);
        const size = parseInt(hex, 16);
        if (size === 0) {
          this.#phase = TRAILERS;
        } else {
          this.#phase = CHUNK_DATA;
          this.#remaining = size;
        }
        break;
      }
      case CHUNK_END:
        if (line !== EMPTY) throw new ParseError('missing CRLF after chunk data');
        this.#phase = CHUNK_SIZE;
        break;
      default: // TRAILERS: ignored, up to the blank line
        if (line === EMPTY) {
          const req = /** @type {WireRequest} */ (this.#active);
          this.#finish(req.wantBody ? Buffer.concat(this.#chunks, this.#bodyLen).toString('utf8') : EMPTY);
        }
    }
    return nl + 1;
  }

  /** The server ended the connection. */
  #onEnd() {
    const req = this.#active;
    if (req !== null && this.#phase === BODY_UNTIL_CLOSE) {
      // The end of a close-delimited body; #finish drops the socket (`#closeAfter` is set).
      this.#finish(req.wantBody ? Buffer.concat(this.#chunks).toString('utf8') : EMPTY);
      return;
    }
    this.#onGone(null);
  }

  /**
   * The socket is closed or failed. Idle: the next request opens a new one. Under a request:
   * retry it once on a new connection if it went out on a used one and nothing came back (the
   * server closed an idle keep-alive connection as we wrote); otherwise it fails.
   * @param {Error | null} err
   */
  #onGone(err) {
    this.#dropSocket();
    const req = this.#active;
    if (req === null) return;
    const retry = this.#keepAlive && this.#activeReused && !this.#activeRetried && !this.#gotBytes;
    this.#resetParser();
    if (retry) {
      this.#send(req, true); // with the pipelined request behind it, if any
      return;
    }
    this.#active = null;
    this.#requeueFollowed();
    this.#sendQueued();
    req.onError(err ?? hangUp());
  }

  /** A pipelined request whose connection is gone goes first on the next one. */
  #requeueFollowed() {
    const followed = this.#followed;
    if (followed === null) return;
    this.#followed = null;
    this.#queue.unshift(followed);
  }

  /**
   * A malformed response: the connection is closed and the request fails.
   * @param {Error} err
   */
  #fail(err) {
    this.#dropSocket();
    const req = this.#active;
    this.#resetParser();
    this.#active = null;
    this.#requeueFollowed();
    this.#sendQueued();
    if (req !== null) req.onError(err);
  }

  /**
   * The active request's response is complete.
   * @param {string} body
   */
  #finish(body) {
    const req = /** @type {WireRequest} */ (this.#active);
    const status = this.#status;
    const headers = this.#headers;
    const close = this.#closeAfter || !this.#keepAlive;
    this.#resetParser();
    this.#active = null;
    this.#served++;
    const followed = this.#followed;
    this.#followed = null;
    if (close) {
      this.#dropSocket();
      if (followed !== null) this.#queue.unshift(followed); // it went out on a connection that is gone
    } else if (followed !== null) {
      // Already sent: it is answered next, on this connection (the socket stays ref'd for it).
      this.#active = followed;
      this.#activeReused = true;
      this.#activeRetried = false;
      req.onResponse(status, headers, body);
      return;
    } else if (this.#queue.length === 0 && this.#refed) {
      // Idle from here: the connection must not keep the process alive.
      /** @type {net.Socket} */ (this.#socket).unref();
      this.#refed = false;
    }
    this.#sendQueued();
    req.onResponse(status, headers, body);
  }

  #sendQueued() {
    const next = this.#queue.shift();
    if (next !== undefined) this.#send(next, false);
  }

  #resetParser() {
    this.#phase = HEAD;
    this.#gotBytes = false;
    this.#headLen = 0;
    this.#status = 0;
    this.#headers = Object.create(null);
    this.#closeAfter = false;
    this.#remaining = 0;
    this.#bodyBuf = null;
    this.#bodyLen = 0;
    if (this.#chunks.length > 0) this.#chunks = [];
    this.#line = EMPTY;
  }
}

/**
 * @param {string | Buffer} a
 * @param {string | Buffer} b
 * @returns {string | Buffer}
 */
function joinData(a, b) {
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  return Buffer.concat([typeof a === 'string' ? Buffer.from(a, 'utf8') : a, typeof b === 'string' ? Buffer.from(b, 'utf8') : b]);
}

/**
 * Index just past the blank line that ends a head in `buf[from, end)` (CRLF or bare LF line
 * endings), or -1.
 * @param {Buffer} buf
 * @param {number} from
 * @param {number} end
 */
function findHeadEnd(buf, from, end) {
  const i = indexIn(buf, CRLF_CRLF, from, end);
  if (i !== -1) return i + 4;
  const j = indexIn(buf, LF_LF, from, end);
  return j === -1 ? -1 : j + 2;
}

/**
 * `buf.indexOf(needle, from)` limited to `buf[0, end)`: the read buffer holds stale bytes past `end`.
 * @param {Buffer} buf
 * @param {Buffer | number} needle
 * @param {number} from
 * @param {number} end
 */
function indexIn(buf, needle, from, end) {
  return (end === buf.length ? buf : buf.subarray(0, end)).indexOf(needle, from);
}

/**
 * A copy of `buf[start, end)` (the read buffer is reused).
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} end
 */
function copyOf(buf, start, end) {
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}

/**
 * `s.slice(start, end)` without leading/trailing spaces and tabs (HTTP's OWS; not String#trim,
 * which also strips latin1 NBSP).
 * @param {string} s
 * @param {number} start
 * @param {number} end
 */
function trimOws(s, start, end) {
  while (start < end && (s.charCodeAt(start) === 32 || s.charCodeAt(start) === 9)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--;
  return s.slice(start, end);
}
