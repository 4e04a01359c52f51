"""Kumo's runtime for `python3.x` functions.

SANDBOX-SIDE CODE (CONVENTIONS.md point 4): this file runs inside every Python execution
environment and speaks the Lambda Runtime API over HTTP. Host code never imports it.

    python3 -u runtime/python/bootstrap.py        (cwd = task root, env set by the host)

It mirrors the behaviour of AWS's Python runtime (awslambdaric's bootstrap.py, lambda_context.py
and lambda_runtime_marshaller.py): the same handler resolution and init-error types, the same
error documents (`errorMessage`, `errorType`, `requestId`, `stackTrace`), the same context
object, the same root-logger format, so that unmodified handlers behave as they do on Lambda.
It is our own code, uses only the standard library and runs on Python 3.9 and later.

The invoke loop is the hot path: one persistent keep-alive HTTP/1.1 connection driven by a small
raw-socket client (see RuntimeClient), no per-invoke imports, environment values read once.

It is one file on purpose: a helper module of ours would sit in sys.modules under a plain name
and could shadow a function's own module of that name, and AWS's rule for trimming runtime
frames from stack traces ("/bootstrap.py" in the file name) covers exactly this file.
"""

import os
import sys

# --- memory limit: before anything else allocates -------------------------------------------------


def _apply_memory_limit():
    """Cap the heap at KUMO_MEMORY_LIMIT_BYTES, Kumo's stand-in for the Lambda memory cgroup.

    RLIMIT_DATA rather than RLIMIT_AS: RLIMIT_AS also counts address space that is reserved but
    never used (8 MiB per thread stack, 64 MiB per malloc arena, shared libraries), so a 128 MB
    function could not even start a ThreadPoolExecutor (boto3's S3 transfers use one).
    RLIMIT_DATA counts private writable memory, which is close to what a cgroup charges.
    """
    raw = os.environ.pop("KUMO_MEMORY_LIMIT_BYTES", None)  # not part of Lambda's environment
    if not raw:
        return False
    try:
        limit = int(raw)
    except ValueError:
        return False
    if limit <= 0:
        return False
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY and hard < limit:
        limit = hard
    # Hard limit too, so the function cannot lift it (it cannot leave a cgroup either).
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    return True


_MEMORY_LIMITED = _apply_memory_limit()

import importlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

RUNTIME_API_PATH = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
XRAY_ERROR_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as AWS indents stack traces in text logs
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
TEXT_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"

LAMBDA_UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with a change in the "
    "runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)


class FaultException(Exception):
    """A failure the runtime reports with a `Runtime.*` error type (never the user's own)."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


# --- output streams and logging --------------------------------------------------------------------


class _Unbuffered(object):
    """Flush on every write, so output reaches the host before the response is posted.

    Only installed when the interpreter was not started with -u / PYTHONUNBUFFERED (with those,
    stdout and stderr already write straight through and need no wrapper).
    """

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        n = self.stream.write(msg)
        self.stream.flush()
        return n

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


def _setup_streams():
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            continue
        if getattr(stream, "encoding", "utf-8").lower().replace("-", "") != "utf8":
            # Lambda runs with LANG=en_US.UTF-8.
            try:
                stream.reconfigure(encoding="utf-8")
            except (AttributeError, io.UnsupportedOperation, ValueError):
                pass
        buffered = not isinstance(getattr(stream, "buffer", None), io.FileIO)
        if buffered or not getattr(stream, "write_through", False):
            setattr(sys, name, _Unbuffered(stream))


class StandardLogSink(object):
    """Writes log records and error reports to stdout, one line per record.

    On Lambda a record reaches CloudWatch as one event even when it spans several lines (the
    runtime frames it on the telemetry fd). Kumo's host turns each stdout line into one event, so
    line breaks inside a record are written as '\\r' (what AWS's runtimes do when they have no
    telemetry fd) and the record ends with exactly one '\\n'.
    """

    def log(self, msg, frame_type=None):
        if msg.endswith("\n"):
            msg = msg[:-1]
        sys.stdout.write(msg.replace("\n", "\r") + "\n")

    def log_error(self, message_lines):
        self.log(ERROR_LOG_LINE_TERMINATE.join(message_lines))


class FramedTelemetryLogSink(object):
    """AWS's framing on `_LAMBDA_TELEMETRY_LOG_FD`, used only if the host provides that fd.

    Frame: type (4 bytes) | length (4 bytes) | timestamp in us (8 bytes) | message, big-endian.
    """

    TEXT_FRAME = 0xA55A0003.to_bytes(4, "big")

    def __init__(self, fd):
        self.file = os.fdopen(int(fd), "wb", 0)

    def log(self, msg, frame_type=None):
        data = msg.encode("utf-8")
        self.file.write(
            (frame_type or self.TEXT_FRAME)
            + len(data).to_bytes(4, "big")
            + (time.time_ns() // 1000).to_bytes(8, "big")
            + data
        )

    def log_error(self, message_lines):
        self.log("\n".join(message_lines))


def _create_log_sink():
    fd = os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    if fd:
        try:
            return FramedTelemetryLogSink(fd)
        except (OSError, ValueError):
            pass
    return StandardLogSink()


_GLOBAL_AWS_REQUEST_ID = None
_GLOBAL_TENANT_ID = None


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _GLOBAL_AWS_REQUEST_ID or ""
        record.tenant_id = _GLOBAL_TENANT_ID
        return True


class LambdaLoggerHandler(logging.Handler):
    def __init__(self, log_sink):
        logging.Handler.__init__(self)
        self.log_sink = log_sink

    def emit(self, record):
        try:
            msg = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.log_sink.log(msg)


_JSON_RESERVED_FIELDS = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "aws_request_id", "tenant_id", "_frame_type",
))


class JsonFormatter(logging.Formatter):
    """`AWS_LAMBDA_LOG_FORMAT=JSON`: one JSON object per record, as AWS's runtime writes it."""

    _encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def __init__(self):
        super().__init__(datefmt=DATETIME_FORMAT)

    def formatTime(self, record, datefmt=None):
        ms = int(record.msecs)
        return time.strftime(DATETIME_FORMAT, time.gmtime(record.created)) + ".%03dZ" % ms

    def format(self, record):
        level = min(50, max(0, record.levelno)) // 10 * 10
        record.levelno = level
        record.levelname = logging.getLevelName(level)
        exc_info = record.exc_info
        result = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
            if exc_info
            else None,
        }
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _JSON_RESERVED_FIELDS and key not in result:
                result[key] = value
        return self._encode({k: v for k, v in result.items() if v is not None}) + "\n"


def _setup_logging(log_format_json, log_level, log_sink):
    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler(log_sink)
    if log_format_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_LOG_FORMAT, DATETIME_FORMAT))
    if log_level in logging._nameToLevel:  # noqa: SLF001  (what AWS's runtime checks too)
        logging.getLogger().setLevel(log_level)
    handler.addFilter(LambdaLoggerFilter())
    logging.getLogger().addHandler(handler)


def _replace_line_indentation(line, indent_char, new_indent_char):
    count = len(line) - len(line.lstrip(indent_char))
    return new_indent_char * count + line[count:]


def _make_log_error(log_format_json, encode):
    if log_format_json:

        def log_error(error_result, log_sink):
            doc = {"timestamp": time.strftime(DATETIME_FORMAT, time.gmtime()), "level": "ERROR"}
            doc.update(error_result)
            log_sink.log_error([encode(doc)])

        return log_error

    def log_error(error_result, log_sink):
        description = "[ERROR]"
        error_type = error_result.get("errorType")
        if error_type:
            description += " " + error_type
        error_message = error_result.get("errorMessage")
        if error_message:
            if error_type:
                description += ":"
            description += " " + error_message
        lines = [description]
        stack_trace = error_result.get("stackTrace")
        if stack_trace is not None:
            lines.append("Traceback (most recent call last):")
            for element in stack_trace:
                if element == "":
                    lines.append("")
                    continue
                for trace_line in element.splitlines():
                    lines.append(_replace_line_indentation(trace_line, " ", ERROR_LOG_IDENT))
        log_sink.log_error(lines)

    return log_error


# --- marshalling ------------------------------------------------------------------------------------

_DECIMAL_MARK = "\x00kumo-decimal:"
_DECIMAL_MARK_JSON = '"\\u0000kumo-decimal:'


class _Encoder(json.JSONEncoder):
    """JSON as AWS's runtime writes it (simplejson, `use_decimal=False` plus a Decimal hook).

    A Decimal is written with its exact digits, as a JSON number (`Decimal("1.10")` -> `1.10`),
    and a NaN Decimal as `NaN`. The stdlib encoder cannot emit raw text, so `default` returns a
    marked string and `encode` unquotes it; the extra pass runs only when a Decimal was seen.
    """

    def __init__(self, ensure_ascii):
        super().__init__(ensure_ascii=ensure_ascii)
        self._saw_decimal = False

    def default(self, o):
        # No Decimal can exist before someone imports decimal; looking it up here keeps the
        # import (~1.5 ms) out of every cold start.
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(o, decimal.Decimal):
            if o.is_nan():
                return float("nan")
            self._saw_decimal = True
            return _DECIMAL_MARK + str(o) + "\x00"
        return super().default(o)

    def encode(self, o):
        self._saw_decimal = False
        out = super().encode(o)
        if self._saw_decimal:
            self._saw_decimal = False
            out = _unmark_decimals(out)
        return out


def _unmark_decimals(text):
    parts = text.split(_DECIMAL_MARK_JSON)
    for i in range(1, len(parts)):
        digits, rest = parts[i].split('\\u0000"', 1)
        parts[i] = digits + rest
    return "".join(parts)


# AWS writes non-ASCII characters as they are from python3.12 on, as \uXXXX escapes before that.
_ENSURE_ASCII = os.environ.get("AWS_EXECUTION_ENV", "") in (
    "AWS_Lambda_python3.8",
    "AWS_Lambda_python3.9",
    "AWS_Lambda_python3.10",
    "AWS_Lambda_python3.11",
    "",
)
_ENCODER = _Encoder(_ENSURE_ASCII)
to_json = _ENCODER.encode


def _marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return to_json(response).encode("utf-8"), "application/json"
    except Exception as e:
        if _MEMORY_LIMITED and isinstance(e, MemoryError):
            _die_out_of_memory()
        raise FaultException(
            FaultException.MARSHAL_ERROR, "Unable to marshal response: {}".format(e), None
        )


def _unmarshal_request(body, content_type):
    if content_type is not None and not content_type.startswith("application/json"):
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(e), None
        )


# --- errors -----------------------------------------------------------------------------------------


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    """Frames of a traceback as tuples, without the leading frames of this file (as AWS does)."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i in range(len(frames)):
        if "/bootstrap.py" not in frames[i][0]:
            return frames[i:]
    return frames


def _safe_str(value):
    try:
        return str(value)
    except Exception:
        return "<exception str() failed>"


def _make_xray_fault(ex_type, ex_msg, frames):
    return {
        "working_directory": os.getcwd(),
        "exceptions": [
            {
                "message": ex_msg,
                "type": ex_type,
                "stack": [{"label": name, "path": path, "line": line} for path, line, name, _ in frames],
            }
        ],
        "paths": list({path for path, _, _, _ in frames}),
    }


def build_fault_result(exc_info, msg=None):
    etype, value, tb = exc_info
    frames = _user_frames(tb)
    return make_error(msg if msg else _safe_str(value), etype.__name__, traceback.format_list(frames))


def _die_out_of_memory():
    """The function ran out of its memory: end the way the cgroup OOM killer ends it on Lambda.

    Only used when KUMO_MEMORY_LIMIT_BYTES applied: a MemoryError then means the limit was hit,
    and the host reports a process killed by SIGKILL that it did not kill as Runtime.OutOfMemory.
    """
    os.kill(os.getpid(), 9)  # SIGKILL (the signal module costs ~1 ms of cold start to import)


# --- handler resolution -----------------------------------------------------------------------------


def _get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, e)
        )
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '{}': {}".format(modname, e),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, e),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '{}' missing on module '{}'".format(fname, modname),
            None,
        )


def _setup_sys_path(task_root, opt_dir):
    """Task root first, then layers (/opt/python/lib/python3.x/site-packages, /opt/python), then
    what the interpreter had, as on Lambda.

    The directory of this file is dropped so that it never shadows the function's modules.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    version = "python%d.%d" % sys.version_info[:2]
    front = [task_root]
    for layer_dir in (os.path.join(opt_dir, "python", "lib", version, "site-packages"), os.path.join(opt_dir, "python")):
        if os.path.isdir(layer_dir):
            front.append(layer_dir)
    rest = [p for p in sys.path if p not in front and os.path.abspath(p or ".") != here]
    sys.path[:] = front + rest


# --- context ----------------------------------------------------------------------------------------

_FUNCTION_NAME = _FUNCTION_VERSION = _MEMORY_LIMIT_IN_MB = _LOG_GROUP_NAME = _LOG_STREAM_NAME = None


def _read_function_environment():
    """The function's part of the context, read once (after specialisation, for a stem cell)."""
    global _FUNCTION_NAME, _FUNCTION_VERSION, _MEMORY_LIMIT_IN_MB, _LOG_GROUP_NAME, _LOG_STREAM_NAME
    environ = os.environ
    _FUNCTION_NAME = environ.get("AWS_LAMBDA_FUNCTION_NAME")
    _FUNCTION_VERSION = environ.get("AWS_LAMBDA_FUNCTION_VERSION")
    _MEMORY_LIMIT_IN_MB = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")  # a str, as on AWS
    _LOG_GROUP_NAME = environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
    _LOG_STREAM_NAME = environ.get("AWS_LAMBDA_LOG_STREAM_NAME")


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self):
        self.cognito_identity_id = None
        self.cognito_identity_pool_id = None

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __repr__(self):
        return (
            "Client([installation_id=%s,app_title=%s,app_version_name=%s,app_version_code=%s,"
            "app_package_name=%s])"
            % tuple(getattr(self, f) for f in self.__slots__)
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return "ClientContext([custom=%s,env=%s,client=%s])" % (self.custom, self.env, self.client)


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    get = d.get if isinstance(d, dict) else (lambda _k, _d=None: None)
    for field in cls.__slots__:
        setattr(obj, field, get(field, None))
    return obj


class LambdaContext(object):
    """The `context` argument of a handler, with the attributes AWS's Python runtime gives it."""

    def __init__(
        self,
        invoke_id,
        client_context,
        cognito_identity,
        epoch_deadline_time_in_ms,
        invoked_function_arn=None,
        tenant_id=None,
    ):
        self.aws_request_id = invoke_id
        self.log_group_name = _LOG_GROUP_NAME
        self.log_stream_name = _LOG_STREAM_NAME
        self.function_name = _FUNCTION_NAME
        self.memory_limit_in_mb = _MEMORY_LIMIT_IN_MB
        self.function_version = _FUNCTION_VERSION
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = None
        if client_context is not None:
            self.client_context = _obj_from_dict(ClientContext, client_context)
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        self.identity = CognitoIdentity()
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        delta_ms = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta_ms if delta_ms > 0 else 0

    def log(self, msg):
        for handler in logging.getLogger().handlers:
            if hasattr(handler, "log_sink"):
                handler.log_sink.log(str(msg))
                return
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


def _parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse {} JSON: {}".format(name, e),
            None,
        )


# --- Runtime API client -----------------------------------------------------------------------------


class RuntimeApiError(Exception):
    pass


class _ConnectionLost(Exception):
    pass


class RuntimeClient(object):
    """The Runtime API client: one keep-alive HTTP/1.1 connection for the life of the process.

    A deliberately small HTTP/1.1 client on a raw socket instead of http.client: http.client
    parses every response's headers with the email package and sends a POST's headers and body
    in two writes, which cost ~3x this loop's whole per-invoke overhead (measured: ~480 us vs
    ~160 us per invoke). Requests are built as one buffer (one write); responses are parsed for
    exactly what the Runtime API uses: status, headers, a Content-Length or chunked body, and
    `Connection: close`.

    A request that fails on a connection the server has closed (an idle keep-alive timeout while
    a long handler ran, say) is sent once more on a fresh connection.
    """

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if not host:  # "host" alone
            host, port = address, "80"
        # bytes: getaddrinfo then skips the idna codec (~1.5 ms of cold start to import)
        self.address = (host.strip("[]").encode("ascii"), int(port))
        self.host = address
        self.next_request = (
            "GET %s/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n" % (RUNTIME_API_PATH, address)
        ).encode("latin-1")
        self.sock = None
        self.rfile = None
        # A GET /next went out behind the last post (pipelined); its answer has not been read yet.
        self.next_sent = False

    def _connect(self):
        sock = socket.create_connection(self.address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def connect_early(self):
        """Connect ahead of the first request: Kumo checks a new Runtime API connection's peer, and
        this way it does so while nobody waits for it. A failure here is retried by the first request.
        """
        try:
            self._connect()
        except OSError:
            self.close()
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.rfile.close()
                self.sock.close()
            except OSError:
                pass
        self.sock = self.rfile = None

    def _request(self, head, body, follow=None):
        """Send one request (`head` ends with the blank line) and return (status, headers, body).

        `follow`, a request sent in the same write right behind this one (HTTP pipelining), is
        answered after it: `next_invocation` reads that answer.
        """
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self._connect()
                tail = follow or b""
                if body is None:
                    self.sock.sendall(head + tail)
                elif len(body) <= 65536:
                    self.sock.sendall(head + body + tail)
                else:  # no copy of a large payload; TCP_NODELAY keeps the writes cheap
                    self.sock.sendall(head)
                    self.sock.sendall(body)
                    if tail:
                        self.sock.sendall(tail)
                self.next_sent = follow is not None
                return self._read_response()
            except (OSError, ValueError, _ConnectionLost):
                self.close()
                if attempt:
                    raise ConnectionError("lost the connection to the Runtime API at %s" % self.host)

    def _read_response(self):
        rfile = self.rfile
        line = rfile.readline(65537)
        if not line:
            raise _ConnectionLost()
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise _ConnectionLost()
        status = int(parts[1])
        headers = {}
        while True:
            line = rfile.readline(65537)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise _ConnectionLost()
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "content-length" in headers:
            length = int(headers["content-length"])
            body = rfile.read(length) if length else b""
            if len(body) != length:
                raise _ConnectionLost()
        elif headers.get("transfer-encoding", "").lower().endswith("chunked"):
            body = self._read_chunked()
        else:  # delimited by the end of the connection
            body = rfile.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _read_chunked(self):
        rfile = self.rfile
        chunks = []
        while True:
            line = rfile.readline(65537)
            if not line:
                raise _ConnectionLost()
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            chunk = rfile.read(size)
            if len(chunk) != size or rfile.read(2) != b"\r\n":
                raise _ConnectionLost()
            chunks.append(chunk)
        while True:  # trailers
            line = rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
        return b"".join(chunks)

    def next_invocation(self):
        answer = None
        if self.next_sent and self.sock is not None:
            # The GET went out with the last result: its answer is next on this connection.
            try:
                answer = self._read_response()
            except (OSError, ValueError, _ConnectionLost):
                self.close()
        self.next_sent = False
        status, headers, body = answer or self._request(self.next_request, None)
        if status != 200:
            raise RuntimeApiError(
                "GET /invocation/next answered %d: %r" % (status, body[:200])
            )
        return headers, body

    def _post(self, path, body, headers, then_next=False):
        head = "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n" % (
            path,
            self.host,
            "".join("%s: %s\r\n" % item for item in headers),
            len(body),
        )
        follow = self.next_request if then_next else None
        status, _headers, data = self._request(head.encode("latin-1"), body, follow)
        if not 200 <= status < 300:
            sys.stderr.write(
                "Kumo runtime: POST %s answered %d: %s\n"
                % (path, status, data[:500].decode("utf-8", "replace"))
            )
        return status

    def post_invocation_result(self, invoke_id, result, content_type, then_next=False):
        """Post the result; with `then_next`, ask for the next event in the same write."""
        return self._post(
            RUNTIME_API_PATH + "/invocation/" + invoke_id + "/response",
            result,
            (("Content-Type", content_type),),
            then_next,
        )

    def post_invocation_error(self, invoke_id, error_body, error_type, xray_fault, then_next=False):
        headers = [("Content-Type", "application/json"), (ERROR_TYPE_HEADER, _header_safe(error_type))]
        if xray_fault and len(xray_fault) < 1024 * 1024:
            headers.append((XRAY_ERROR_CAUSE_HEADER, xray_fault))
        return self._post(
            RUNTIME_API_PATH + "/invocation/" + invoke_id + "/error",
            error_body.encode("utf-8"),
            headers,
            then_next,
        )

    def post_init_error(self, error_result):
        return self._post(
            RUNTIME_API_PATH + "/init/error",
            to_json(error_result).encode("utf-8"),
            (
                ("Content-Type", "application/json"),
                (ERROR_TYPE_HEADER, _header_safe(error_result["errorType"])),
            ),
        )


def _header_safe(value):
    value = (value or "").replace("\r", " ").replace("\n", " ")
    return value.encode("latin-1", "backslashreplace").decode("latin-1")


_XRAY_ENCODE = json.JSONEncoder(ensure_ascii=True, default=str).encode


# --- the loop ---------------------------------------------------------------------------------------


def _handle_event_request(client, request_handler, headers, event_body, log_error, log_sink):
    get = headers.get
    invoke_id = get("lambda-runtime-aws-request-id") or ""
    try:
        client_context = get("lambda-runtime-client-context")
        if client_context:
            client_context = _parse_json_header(client_context, "Client Context")
        else:
            client_context = None
        cognito_identity = get("lambda-runtime-cognito-identity")
        if cognito_identity:
            cognito_identity = _parse_json_header(cognito_identity, "Cognito Identity")
        else:
            cognito_identity = None
        deadline = get("lambda-runtime-deadline-ms")
        context = LambdaContext(
            invoke_id,
            client_context,
            cognito_identity,
            int(deadline) if deadline else 0,
            get("lambda-runtime-invoked-function-arn"),
            get("lambda-runtime-aws-tenant-id"),
        )
        event = _unmarshal_request(event_body, get("content-type"))
        response = request_handler(event, context)
        result, content_type = _marshal_response(response)
    except FaultException as e:
        error_result = make_error(e.msg, e.exception_type, e.trace, invoke_id)
        xray_fault = _make_xray_fault("LambdaValidationError", e.msg, [])
    except Exception:
        etype, value, tb = sys.exc_info()
        if _MEMORY_LIMITED and issubclass(etype, MemoryError):
            _die_out_of_memory()
        frames = _user_frames(tb)
        message = _safe_str(value)
        error_result = make_error(message, etype.__name__, traceback.format_list(frames), invoke_id)
        xray_fault = _make_xray_fault(etype.__name__, message, frames)
    else:
        client.post_invocation_result(invoke_id, result, content_type, True)
        return

    log_error(error_result, log_sink)
    try:
        xray = _XRAY_ENCODE(xray_fault)
    except Exception:
        xray = ""
    client.post_invocation_error(invoke_id, to_json(error_result), error_result["errorType"], xray, True)


# --- stem cells ---------------------------------------------------------------------------------------

STEM_READY = b"KUMO_STEM_READY\n"


def _await_specialisation():
    """Stem-cell mode (KUMO_STEM=1): Kumo started this interpreter, with this module imported, before
    it knew which function would run here. Say so on stdout, then block on stdin until Kumo sends the
    function's environment as one JSON line: {"env": {...}, "cwd": "/var/task"}. From then on the
    process is exactly one started for that function (its code now sits at the task root), and its
    init (Init Duration) starts here. stdin becomes /dev/null, as in any environment.
    """
    global _MEMORY_LIMITED
    # Connected before saying ready: the peer check is made while the stem cell waits, not during a
    # cold start. main() takes the client over.
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    client = RuntimeClient(address).connect_early() if address else None
    os.write(1, STEM_READY)
    chunks = []
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    message = json.loads(b"".join(chunks))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.environ.clear()
    os.environ.update(message["env"])
    os.chdir(message["cwd"])
    time.tzset()
    _MEMORY_LIMITED = _apply_memory_limit()
    return client


def main():
    global _GLOBAL_AWS_REQUEST_ID, _GLOBAL_TENANT_ID

    early = None
    if os.environ.get("KUMO_STEM") == "1":
        early = _await_specialisation()
    _read_function_environment()
    environ = os.environ
    # On Lambda the function code sits on a read-only file system, so no __pycache__ is written.
    sys.dont_write_bytecode = True
    _setup_streams()
    task_root = environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    # Where the layers are: /opt in a sandbox; Kumo says so (and the function does not see it).
    _setup_sys_path(task_root, environ.pop("KUMO_OPT_DIR", None) or "/opt")

    log_format_json = (environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    raw_level = environ.get("AWS_LAMBDA_LOG_LEVEL")
    log_level = {None: "", "TRACE": "DEBUG"}.get(raw_level, raw_level).upper()
    log_sink = _create_log_sink()
    _setup_logging(log_format_json, log_level, log_sink)
    log_error = _make_log_error(log_format_json, to_json)

    address = environ["AWS_LAMBDA_RUNTIME_API"]
    if early is not None and early.host == address:
        client = early
    else:
        if early is not None:
            early.close()
        # Connected now: the peer check is made while the handler loads.
        client = RuntimeClient(address).connect_early()

    try:
        request_handler = _get_handler(environ.get("_HANDLER", ""))
    except Exception as e:
        if isinstance(e, FaultException):
            error_result = make_error(e.msg, e.exception_type, e.trace)
        else:
            if _MEMORY_LIMITED and isinstance(e, MemoryError):
                _die_out_of_memory()
            error_result = build_fault_result(sys.exc_info(), None)
        logging.warning(LAMBDA_UNHANDLED_EXCEPTION_WARNING)
        log_error(error_result, log_sink)
        client.post_init_error(error_result)
        sys.exit(1)

    next_invocation = client.next_invocation
    while True:
        headers, body = next_invocation()
        _GLOBAL_AWS_REQUEST_ID = headers.get("lambda-runtime-aws-request-id")
        _GLOBAL_TENANT_ID = headers.get("lambda-runtime-aws-tenant-id")
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id is not None:
            environ["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in environ:
            del environ["_X_AMZN_TRACE_ID"]
        _handle_event_request(client, request_handler, headers, body, log_error, log_sink)


if __name__ == "__main__":
    try:
        main()
    except MemoryError:
        if _MEMORY_LIMITED:
            _die_out_of_memory()
        raise
    except (RuntimeApiError, ConnectionError) as exc:
        sys.stderr.write("Kumo runtime: lost the Runtime API: %s\n" % (exc,))
        sys.exit(1)
