// docs/endpoints.md is generated from the routes the app registers; this fails
// when a route was added or removed without regenerating it.
import { expect, test } from "bun:test";
import { TABLE_PATH, parseSpecEndpoints, renderEndpointsTable } from "../../scripts/endpoints";

test("docs/endpoints.md matches the router (run bun run scripts/endpoints.ts)", async () => {
  expect(await Bun.file(TABLE_PATH).text()).toBe(await renderEndpointsTable());
});

test("the spec list parses: method, path and spec file on every line", async () => {
  const spec = parseSpecEndpoints(await Bun.file(new URL("../../docs/spec-endpoints.txt", import.meta.url).pathname).text());
  expect(spec.length).toBeGreaterThan(100);
  for (const endpoint of spec) {
    expect(endpoint.method).toMatch(/^(GET|PUT|POST|DELETE|PATCH)$/);
    expect(endpoint.path).toStartWith("/");
    expect(endpoint.file).toEndWith(".yaml");
  }
});
