// The studio's JSON API (archspec/studio/api_routes.py): one function per endpoint.
// Every call resolves to {status, body}; a network failure resolves to status 0 with an
// error body, so callers show a message instead of an unhandled rejection.

async function request(method, url, payload) {
  const init = {method, headers: {}};
  if (payload !== undefined) {
    init.headers["Content-Type"] = "application/json";  // the server refuses form posts (CSRF)
    init.body = JSON.stringify(payload);
  }
  try {
    const response = await fetch(url, init);
    const body = await response.json().catch(() => ({error: `${response.status} ${response.statusText}`}));
    return {status: response.status, body};
  } catch (err) {
    return {status: 0, body: {error: `the studio server does not answer (${err.message})`,
                              hint: "is `archspec serve` still running?"}};
  }
}

export const getSession = () => request("GET", "/api/session");
export const getSchema = () => request("GET", "/api/schema");
export const getFile = (path) => request("GET", `/api/file?path=${encodeURIComponent(path)}`);
export const getZooSpec = (name) => request("GET", `/api/zoo/${encodeURIComponent(name)}`);
export const analyse = (text, path, parts) => request("POST", "/api/analyse", {text, path, parts});
export const save = (path, text, baseVersion, force = false) =>
  request("POST", "/api/save", {path, text, base_version: baseVersion, force});
export const getRun = () => request("GET", "/api/run");
export const predict = (image) => request("POST", "/api/predict", {image});
export const getHistory = () => request("GET", "/api/history");

/** An error body as one line: "message; hint". */
export function errorText(body) {
  const message = body && body.error ? body.error : "unexpected answer from the server";
  return body && body.hint ? `${message}; ${body.hint}` : message;
}
