// Turns everything thrown while handling a request into the spec's error body
// (see ../errors.ts). A 500 is a bug: it is logged, and the client gets no detail.
import { Elysia } from "elysia";
import type { Homeserver } from "../homeserver";
import { MatrixError, unrecognized } from "./errors";

interface ValidationIssue {
  path: string;
  message: string;
  value: unknown;
}

/** Maps a TypeBox validation failure to M_MISSING_PARAM, M_BAD_JSON (body) or M_INVALID_PARAM (query, path). */
function validationError(error: { type?: string; all?: ValidationIssue[] }): MatrixError {
  const issues = (error.all ?? []) as ValidationIssue[];
  const where = error.type ?? "body";
  const missing = issues.find((issue) => issue.value === undefined && issue.path !== "");
  const name = (issue: ValidationIssue) => issue.path.replace(/^\//, "").replaceAll("/", ".") || where;
  if (missing) return new MatrixError(400, "M_MISSING_PARAM", `Missing ${where} parameter '${name(missing)}'`);
  const first = issues[0];
  const detail = first ? `'${name(first)}': ${first.message}` : "invalid value";
  return new MatrixError(400, where === "body" ? "M_BAD_JSON" : "M_INVALID_PARAM", `Invalid ${where} parameter ${detail}`);
}

/** Compiles the app's route patterns once, to tell 405 (known path) from 404. */
function routeMatcher(routes: { method: string; path: string }[]) {
  const patterns = routes.map((route) => ({
    method: route.method,
    regex: new RegExp(
      `^${route.path
        .split("/")
        .map((part) => (part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")))
        .join("/")}$`,
    ),
  }));
  return (path: string) => patterns.some((pattern) => pattern.regex.test(path));
}

export function errorHandler(hs: Homeserver, routes: () => { method: string; path: string }[]) {
  let pathIsKnown: ((path: string) => boolean) | undefined;
  return new Elysia({ name: "http.errors", seed: hs.instanceId }).onError({ as: "global" }, ({ code, error, request, set }) => {
    let matrixError: MatrixError;
    const cause = (error as { cause?: unknown }).cause;
    if (error instanceof MatrixError) matrixError = error;
    else if (cause instanceof MatrixError) matrixError = cause;
    else if (code === "VALIDATION") matrixError = validationError(error as never);
    else if (code === "PARSE") matrixError = new MatrixError(400, "M_NOT_JSON", "Content not JSON.");
    else if (code === "NOT_FOUND") {
      pathIsKnown ??= routeMatcher(routes());
      const path = new URL(request.url).pathname;
      matrixError = pathIsKnown(path)
        ? unrecognized(405, `Method ${request.method} is not allowed on ${path}`)
        : unrecognized(404, "Unrecognized request");
    } else {
      hs.log.error(`${request.method} ${new URL(request.url).pathname}: ${(error as Error)?.stack ?? String(error)}`);
      matrixError = new MatrixError(500, "M_UNKNOWN", "Internal server error");
    }
    set.status = matrixError.status;
    Object.assign(set.headers, matrixError.headers);
    set.headers["content-type"] = "application/json";
    return JSON.stringify(matrixError.toJSON());
  });
}
