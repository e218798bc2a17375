// A private certificate authority and a certificate for 127.0.0.1 signed by it
// (made with openssl), for tests of outbound HTTPS to servers the system's CAs
// do not trust.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PrivateCa {
  /** PEM file of the CA certificate, for outbound_extra_ca_file. */
  caFile: string;
  /** Certificate and key for a Bun.serve on 127.0.0.1. */
  tls: { cert: string; key: string };
  remove(): void;
}

export async function makePrivateCa(): Promise<PrivateCa> {
  const dir = mkdtempSync(join(tmpdir(), "private-ca-"));
  const run = async (...args: string[]) => {
    const proc = Bun.spawn(["openssl", ...args], { cwd: dir, stdout: "ignore", stderr: "pipe" });
    if ((await proc.exited) !== 0) throw new Error(`openssl ${args[0]}: ${await new Response(proc.stderr).text()}`);
  };
  await run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA");
  await run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  await Bun.write(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  await run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf");
  return {
    caFile: join(dir, "ca.pem"),
    tls: { cert: await Bun.file(join(dir, "server.pem")).text(), key: await Bun.file(join(dir, "server.key")).text() },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
